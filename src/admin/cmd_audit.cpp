// `audit list`, `audit verify`: reading the hash-chained audit log.
#include <iostream>

#include "admin/commands.h"
#include "admin/errors.h"
#include "admin/json_out.h"
#include "gp/error.h"
#include "store/time.h"

namespace sekds::admin {

namespace {

struct ListOptions {
  std::string since, until, tsm, card, op, result;
  std::size_t limit = 50;
  bool oldest_first = false;
};

store::Timestamp time_option(const char* opt, const std::string& v) {
  auto t = store::parse_timestamp(v);
  if (!t) usage_error(std::string(opt) + ": '" + v + "' is not a time (YYYY-MM-DD[THH:MM[:SS[.mmm]]][Z], UTC)");
  return *t;
}

void run_list(Context& ctx, const ListOptions& o) {
  store::AuditFilter f;
  if (!o.since.empty()) f.since = time_option("--since", o.since);
  if (!o.until.empty()) f.until = time_option("--until", o.until);
  if (!o.tsm.empty()) f.actor = o.tsm;
  if (!o.card.empty()) {
    try {
      f.kdd = gp::from_hex(o.card, "--card");
    } catch (const gp::GpError& e) {
      usage_error(e.what());
    }
    if (f.kdd->size() != gp::kKddLength) usage_error("--card: the card's KDD is 10 bytes (20 hex digits)");
  }
  if (!o.op.empty()) f.operation = o.op;
  if (!o.result.empty()) f.result = o.result;
  if (o.limit < 1 || o.limit > 10000) usage_error("--limit: 1..10000");
  f.limit = o.limit;
  f.newest_first = !o.oldest_first;
  auto entries = ctx.store().list_audit(f);
  nlohmann::json out = nlohmann::json::array();
  std::vector<std::vector<std::string>> rows;
  for (const auto& a : entries) {
    out.push_back(to_json(a));
    std::string subject;
    if (a.issuer) subject += *a.issuer;
    if (a.kvn) subject += "/" + std::to_string(*a.kvn);
    if (a.kek_index) subject += (subject.empty() ? "" : " ") + std::string("kek ") + std::to_string(*a.kek_index);
    if (a.kdd) subject += (subject.empty() ? "" : " ") + std::string("kdd ") + gp::to_hex(*a.kdd);
    rows.push_back({std::to_string(a.seq), store::format_timestamp(a.time), a.actor, a.operation, a.result,
                    subject.empty() ? "-" : subject, a.detail});
  }
  ctx.emit({{"records", out}}, [&] { print_table({"SEQ", "TIME", "ACTOR", "OPERATION", "RESULT", "SUBJECT", "DETAIL"}, rows); });
}

void run_verify(Context& ctx) {
  const store::VerifyReport r = ctx.store().verify_audit();
  nlohmann::json out = {{"ok", r.ok},
                        {"records_checked", r.records},
                        {"head", to_json(r.head)},
                        {"first_bad", r.first_bad ? nlohmann::json(*r.first_bad) : nlohmann::json(nullptr)},
                        {"break", store::audit_break_name(r.kind)},
                        {"reason", r.reason}};
  ctx.emit(out, [&] {
    if (r.ok) {
      std::cout << "audit chain OK: " << r.records << " records\n";
    } else {
      std::cout << "audit chain BROKEN at record " << (r.first_bad ? std::to_string(*r.first_bad) : std::string("?"))
                << " (" << store::audit_break_name(r.kind) << "): " << r.reason << "\n"
                << r.records << " records verified before it\n";
    }
    std::cout << "chain head: seq " << r.head.seq << " hash " << r.head.hash << "\n"
              << "(keep the head outside this database, e.g. in a ticket or a log host, to detect a rewritten log)\n";
  });
  if (!r.ok) ctx.set_exit_code(ExitCode::Refused);  // the report above already says why
}

}  // namespace

void add_audit_commands(CLI::App& app, Runner& r) {
  CLI::App* audit = app.add_subcommand("audit", "the hash-chained audit log (key releases and admin actions)");
  audit->require_subcommand(1);

  auto lo = std::make_shared<ListOptions>();
  CLI::App* list = audit->add_subcommand("list", "list audit records, newest first");
  list->add_option("--since", lo->since, "records at or after this UTC time (YYYY-MM-DD[THH:MM[:SS]])");
  list->add_option("--until", lo->until, "records before this UTC time");
  list->add_option("--tsm", lo->tsm, "records whose actor is this TSM (its key releases) or operator");
  list->add_option("--card", lo->card, "records of this card (its KDD in hex)");
  list->add_option("--op", lo->op, "records of this operation (WSGetDiversifiedKeys, kek.add, tsm.accredit, ...)");
  list->add_option("--result", lo->result, "records with this result (OK, KcvMismatch, NotEntitled, ...)");
  list->add_option("--limit", lo->limit, "at most this many records (1..10000)")->default_str("50");
  list->add_flag("--oldest-first", lo->oldest_first, "oldest records first");
  list->callback([&r, lo] { r.set([lo](Context& c) { run_list(c, *lo); }); });

  CLI::App* verify = audit->add_subcommand(
      "verify", "walk the whole hash chain; exit 1 naming the first bad record and why; print the chain head");
  verify->callback([&r] { r.set(run_verify); });
}

}  // namespace sekds::admin
