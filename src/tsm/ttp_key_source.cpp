#include "tsm/ttp_key_source.h"

#include <stdexcept>

#include "gp/crypto.h"
#include "gp/kcv.h"
#include "hsm/error.h"
#include "hsm/kek.h"
#include "service/client.h"
#include "tsm/error.h"
#include "tsm/ttp_url.h"

namespace sekds::tsm {
namespace {

[[noreturn]] void refuse(const std::string& what, const std::string& name) {
  throw TsmError(TsmErrc::Verification, "keys refused: " + what, name);
}

}  // namespace

const TtpEndpoint* match_endpoint(const std::vector<TtpEndpoint>& endpoints, const std::string& url) {
  TtpUrl card;
  try {
    card = parse_ttp_url(url);
  } catch (const std::invalid_argument&) {
    return nullptr;  // a URL that does not parse names no TTP
  }
  const TtpEndpoint* best = nullptr;
  std::size_t best_length = 0;
  for (const auto& e : endpoints) {
    TtpUrl prefix;
    try {
      prefix = parse_ttp_url(e.url_prefix);
    } catch (const std::invalid_argument& err) {
      // parse_config refuses these; an endpoint built in code may still carry one.
      throw TsmError(TsmErrc::Config, std::string("[[ttp]] url_prefix: ") + err.what());
    }
    // Same scheme, host and port: the longest path is the most specific entry.
    if (url_within(card, prefix) && (!best || prefix.path.size() > best_length)) {
      best = &e;
      best_length = prefix.path.size();
    }
  }
  return best;
}

std::string new_request_id() { return gp::to_hex(gp::random_bytes(16)); }

TtpKeySource::TtpKeySource(TtpSettings settings, hsm::KekStore& keks, const KekRegistry& registry)
    : settings_(std::move(settings)), keks_(keks), registry_(registry) {}

TtpKeySource::~TtpKeySource() = default;

std::uint32_t TtpKeySource::kek_index_for(const TtpEndpoint& e) const noexcept {
  return e.kek_index ? *e.kek_index : settings_.kek_index;
}

void TtpKeySource::disconnect() {
  for (auto& [url, c] : clients_) c->disconnect();
}

service::Client& TtpKeySource::client_for(const TtpEndpoint& e, const std::string& url) {
  auto it = clients_.find(url);
  if (it != clients_.end()) return *it->second;
  service::ClientOptions o;
  o.endpoint = url;
  o.certificate = e.certificate;
  o.private_key = e.private_key;
  o.ca_file = e.ca;
  o.connect_timeout_s = settings_.connect_timeout_s;
  o.recv_timeout_s = settings_.recv_timeout_s;
  o.send_timeout_s = settings_.recv_timeout_s;
  try {
    auto c = std::make_unique<service::Client>(o);
    return *clients_.emplace(url, std::move(c)).first->second;
  } catch (const service::ClientError& err) {
    throw TsmError(TsmErrc::Config, "[[ttp]] " + e.url_prefix + ": " + err.what());
  }
}

CardKeys TtpKeySource::card_keys(const CardInfo& card, std::optional<std::uint8_t> kvn_opt) {
  if (!card.url)
    throw TsmError(TsmErrc::CardData, card.card + ": the card has no TTP URL ('5F50'); it cannot be served by a TTP",
                   "NoTtpUrl");
  const std::string& url = card.url->str();
  if (!card.url->is_https())
    throw TsmError(TsmErrc::Config, "the card's TTP URL " + url + " is not https: sekds talks to a TTP over mutual TLS only");
  const TtpEndpoint* ep = match_endpoint(settings_.endpoints, url);
  if (!ep) throw TsmError(TsmErrc::Config, "no [[ttp]] url_prefix in the configuration matches the card's URL " + url);
  const std::string call_url = ep->endpoint ? *ep->endpoint : url;
  const std::uint32_t kek_index = kek_index_for(*ep);
  const KekRecord* kek = registry_.find(kek_index);
  if (!kek)
    throw TsmError(TsmErrc::Config, "KEK index " + std::to_string(kek_index) + " was never imported (sekds-tsm kek import --index " +
                                        std::to_string(kek_index) + " ...)",
                   "UnknownKek");

  const std::uint8_t kvn = choose_kvn(card, kvn_opt, std::nullopt);
  const gp::KeySetInfo set = card.key_information.key_set(kvn);

  service::GetKeysRequest req;
  req.kdd = gp::to_bytes(card.kdd.bytes());
  req.key_information = card.key_information_template;
  req.sequence_counter = card.sequence_counter.value_bytes();
  req.kek_index = kek_index;
  req.key_set_version = kvn;
  if (card.iin) req.iin = card.iin->value;
  if (card.cin) req.cin = card.cin->value;
  if (card.cplc) req.cplc = gp::to_bytes(card.cplc->value());
  req.request_id = new_request_id();

  service::Client& client = client_for(*ep, call_url);
  CardKeys k;
  k.source = "ttp";
  k.endpoint = call_url;
  k.request_id = *req.request_id;
  std::optional<service::GetKeysResponse> resp;
  for (unsigned attempt = 0; attempt <= settings_.retries && !resp; ++attempt) {
    ++k.attempts;
    auto r = client.get_diversified_keys(req);
    if (auto* ok = std::get_if<service::GetKeysResponse>(&r)) {
      resp = std::move(*ok);
    } else if (auto* f = std::get_if<service::Fault>(&r)) {
      const char* code = service::fault_code_name(f->code);
      throw TsmError(TsmErrc::TtpFault, std::string("TTP refused: ") + code + ": " + f->message, code);
    } else {
      const auto& t = std::get<service::TransportError>(r);
      if (attempt == settings_.retries) {
        const char* kind = service::transport_error_kind_name(t.kind);
        throw TsmError(TsmErrc::TtpTransport,
                       "TTP " + call_url + " unreachable (" + kind + "): " + t.message + " [" + std::to_string(k.attempts) +
                           " attempt" + (k.attempts == 1 ? "" : "s") + ", RequestId " + k.request_id + "]",
                       kind);
      }
      client.disconnect();  // a fresh connection for the retry, same RequestId
    }
  }

  const service::GetKeysResponse& r = *resp;
  // The answer must be for what was asked and what the card is.
  if (r.kek_index != kek_index)
    refuse("the TTP used KEK index " + std::to_string(r.kek_index) + ", the TSM asked for " + std::to_string(kek_index),
           "KekIndexMismatch");
  if (r.kek_kcv != kek->kcv)
    refuse("KEK KCV from the TTP is " + gp::to_hex(r.kek_kcv) + ", the KEK imported as index " + std::to_string(kek_index) +
               " has " + gp::to_hex(kek->kcv),
           "KekKcvMismatch");
  if (r.wrap_algorithm != service::WrapAlgorithm::AesKwRfc3394)
    refuse(std::string("unsupported wrap algorithm ") + service::wrap_algorithm_name(r.wrap_algorithm), "WrapAlgorithm");
  if (r.key_set_version != kvn)
    refuse("the TTP sent " + kvn_text(r.key_set_version) + ", the TSM asked for " + kvn_text(kvn), "KeySetVersionMismatch");
  const std::uint8_t card_scp = static_cast<std::uint8_t>(card.scp());
  if (r.scp != card_scp)
    refuse("the TTP says SCP0" + std::to_string(r.scp) + ", the card speaks " + gp::scp_name(card.scp()), "ScpMismatch");
  if (r.key_type != set.key_type)
    refuse(std::string("the TTP sent ") + gp::key_type_name(r.key_type) + " keys, the card's " + kvn_text(kvn) + " holds " +
               gp::key_type_name(set.key_type),
           "KeyTypeMismatch");

  k.kvn = r.key_set_version;
  k.key_type = r.key_type;
  k.scp = card.scp();
  k.kek_index = r.kek_index;
  k.kek_kcv = r.kek_kcv;
  k.audit_id = r.audit_id;
  k.kcv_alg = gp::gp_kcv_alg(r.key_type);
  const service::WrappedKeyOut* wrapped[3] = {&r.enc, &r.mac, &r.dek};
  gp::SecureBytes* out[3] = {&k.keys.enc, &k.keys.mac, &k.keys.dek};
  for (auto role : gp::kKeyRoles) {
    const std::size_t i = static_cast<std::size_t>(role) - 1;
    const std::string name = gp::key_role_name(role);
    try {
      *out[i] = keks_.unwrap_key(kek->label, wrapped[i]->wrapped_key, r.key_type);
    } catch (const hsm::HsmError& e) {
      if (e.unavailable() || e.code() == hsm::HsmErrc::ObjectNotFound || e.code() == hsm::HsmErrc::LoginRefused ||
          e.code() == hsm::HsmErrc::PinSource)
        throw TsmError(TsmErrc::Hsm, "unwrap " + name + " with KEK '" + kek->label + "': " + e.what(), e.name());
      refuse("the wrapped " + name + " key does not unwrap under KEK index " + std::to_string(kek_index) + ": " + e.what(),
             "UnwrapFailed");
    }
    const gp::Bytes got = gp::kcv(k.kcv_alg, *out[i]);
    if (!gp::equal_ct(got, wrapped[i]->kcv))
      refuse(name + " KCV after unwrap is " + gp::to_hex(got) + ", the TTP says " + gp::to_hex(wrapped[i]->kcv),
             "KcvMismatch");
    k.kcv[i] = got;
  }
  return k;
}

}  // namespace sekds::tsm
