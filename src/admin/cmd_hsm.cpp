// `hsm capabilities`: what the configured PKCS#11 module enforces of the key policy
// (src/hsm/key_policy.h), found out with throwaway session objects, nothing kept.
#include <iostream>

#include "admin/commands.h"
#include "hsm/key_policy.h"

namespace sekds::admin {

namespace {

void run_capabilities(Context& ctx) {
  hsm::Hsm& h = ctx.hsm_user();
  const hsm::KeyPolicyCapabilities c =
      h.with_session("probe key policy", [&](hsm::Session& s) { return hsm::probe_key_policy(s, h.private_objects()); });
  // Where nothing stops a readable derivation, a PIN holder can compute card keys: say so.
  const bool readable_derivation_possible = c.derive_template != hsm::Enforcement::Enforced;
  nlohmann::json out = {{"allowed_mechanisms", hsm::enforcement_name(c.allowed_mechanisms)},
                        {"derive_template", hsm::enforcement_name(c.derive_template)},
                        {"trusted_wrap", c.trusted_wrap},
                        {"sp800_108_counter_kdf", c.sp800_108_counter_kdf},
                        {"pin_holder_can_derive_readable_values", readable_derivation_possible},
                        {"detail", c.detail}};
  ctx.emit(out, [&] {
    print_table({"feature", "module"},
                {{"CKA_ALLOWED_MECHANISMS (one mechanism per key)", hsm::enforcement_name(c.allowed_mechanisms)},
                 {"CKA_DERIVE_TEMPLATE (derived keys stay sensitive)", hsm::enforcement_name(c.derive_template)},
                 {"CKA_WRAP_WITH_TRUSTED (card keys wrap only under trusted KEKs)",
                  c.trusted_wrap ? "enforced" : "NOT enforced"},
                 {"CKM_SP800_108_COUNTER_KDF (KDF3 without masks)", c.sp800_108_counter_kdf ? "offered" : "not offered"}});
    if (readable_derivation_possible)
      std::cout << "\nresidual risk: this module lets a session holding the user PIN derive a readable value from a "
                   "master (CKA_DERIVE_TEMPLATE is "
                << hsm::enforcement_name(c.derive_template)
                << "); sekds never does, but the PIN and the token then protect the card keys alone (hsm/README.md)\n";
  });
}

}  // namespace

void add_hsm_commands(CLI::App& app, Runner& r) {
  CLI::App* hsm = app.add_subcommand("hsm", "the PKCS#11 module and token");
  hsm->require_subcommand(1);
  CLI::App* caps = hsm->add_subcommand("capabilities", "what the module enforces of the key policy (probed, nothing kept)");
  caps->callback([&r] { r.set([](Context& ctx) { run_capabilities(ctx); }); });
}

}  // namespace sekds::admin
