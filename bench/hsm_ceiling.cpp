// The HSM ceiling of the key-release service: exactly the per-key-set HSM work the server does
// for one WSGetDiversifiedKeys (KeyRelease::derive_and_wrap: derive, KCV, wrap, destroy for
// ENC, MAC and DEK) in a loop, for each demo key type, with 1 and 2 threads.
//
//   bench_hsm_ceiling [--seconds 2] [--threads 1,2]                  (a throwaway token)
//   bench_hsm_ceiling --conf softhsm2.conf --token sekds --pin-file user.pin --so-pin-file so.pin
//   bench_hsm_ceiling --conf softhsm2.conf --token sekds --pin-file user.pin --kek sekds/kek/tsm1/1
//   bench_hsm_ceiling --conf ... --kek sekds/kek/tsm1/1 --key-set demo-scp03-aes128:48:kdf3:AES128:shared
//
// --key-set ISSUER:KVN:METHOD:KEY_TYPE:shared|per-role (repeatable) measures existing key sets
// (the masters sekds-admin imported, labels sekds/mk/ISSUER/KVN/...) instead of the generated
// cases: the server's own per-key-set HSM work on its own token (bench/run.sh).
// With an existing token it creates its own master keys (and KEK, unless --kek names an existing
// trusted one) under labels holding "bench-<pid>" and destroys them at the end (creating a KEK
// needs the SO PIN: CKA_TRUSTED).
// Prints one JSON document on stdout; progress goes to stderr.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <vector>

#include "gp/crypto.h"
#include "gp/diversification.h"
#include "gp/kcv.h"
#include "hsm/hsm.h"
#include "hsm/kek.h"
#include "hsm/key_release.h"
#include "hsm/labels.h"
#include "hsm/master_keys.h"
#include "support/softhsm_token.h"

using namespace sekds;
using Clock = std::chrono::steady_clock;

namespace {

struct Case {
  gp::DiversificationMethod method;
  gp::KeyType type;
  std::optional<hsm::MasterKeyRef> existing;  // an imported key set (--key-set), else generated
  std::string name;                           // its issuer
};

// ISSUER:KVN:METHOD:KEY_TYPE:shared|per-role
Case parse_key_set(const std::string& text) {
  std::vector<std::string> f;
  std::size_t from = 0;
  for (std::size_t at; (at = text.find(':', from)) != std::string::npos; from = at + 1) f.push_back(text.substr(from, at - from));
  f.push_back(text.substr(from));
  auto bad = [&](const std::string& why) { return std::invalid_argument("--key-set " + text + ": " + why); };
  if (f.size() != 5) throw bad("expected ISSUER:KVN:METHOD:KEY_TYPE:shared|per-role");
  const auto method = gp::parse_method(f[2]);
  const auto type = gp::parse_key_type(f[3]);
  if (!method) throw bad("unknown method " + f[2]);
  if (!type) throw bad("unknown key type " + f[3]);
  if (f[4] != "shared" && f[4] != "per-role") throw bad("the last field is shared or per-role");
  unsigned long kvn = 0;
  try {
    kvn = std::stoul(f[1]);
  } catch (const std::exception&) {
    throw bad("KVN " + f[1] + " is not a number");
  }
  if (kvn < 1 || kvn > 0x7F) throw bad("KVN out of range");
  return Case{*method, *type, hsm::MasterKeyRef::of_key_set(f[0], static_cast<unsigned>(kvn), f[4] == "shared"), f[0]};
}

std::vector<Case> generated_cases() {
  using M = gp::DiversificationMethod;
  using T = gp::KeyType;
  const std::pair<M, T> list[] = {{M::Emv, T::Des2},      {M::Visa2, T::Des2},     {M::Kdf3, T::Aes128},
                                  {M::Kdf3, T::Aes192},   {M::Kdf3, T::Aes256},    {M::Scp03Kdf, T::Aes128},
                                  {M::Scp03Kdf, T::Aes256}, {M::None, T::Aes128}};
  std::vector<Case> out;
  for (const auto& [m, t] : list) out.push_back(Case{m, t, std::nullopt, "generated"});
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"HSM ceiling: KeyRelease::derive_and_wrap key sets per second against a PKCS#11 token"};
  std::string conf, token, pin_file, so_pin_file, kek_option, module = test::SoftHsmToken::module_path();
  double seconds = 2.0;
  std::vector<unsigned> thread_counts{1, 2};
  std::vector<std::string> key_set_options;
  app.add_option("--conf", conf, "SOFTHSM2_CONF of an existing token (default: a throwaway token)");
  app.add_option("--token", token, "token label or pkcs11: URI (with --conf)");
  app.add_option("--pin-file", pin_file, "user PIN file, mode 0600 (with --conf)");
  app.add_option("--so-pin-file", so_pin_file, "SO PIN file, mode 0600 (with --conf, to create a trusted KEK)");
  app.add_option("--kek", kek_option, "an existing trusted KEK label to wrap under (instead of --so-pin-file)");
  app.add_option("--module", module, "PKCS#11 module");
  app.add_option("--seconds", seconds, "measuring time per case and thread count")->check(CLI::Range(0.1, 600.0));
  app.add_option("--threads", thread_counts, "thread counts")->delimiter(',');
  app.add_option("--key-set", key_set_options, "an existing key set ISSUER:KVN:METHOD:KEY_TYPE:shared|per-role (repeatable)");
  CLI11_PARSE(app, argc, argv);
  std::vector<Case> cases = generated_cases();
  if (!key_set_options.empty()) {
    cases.clear();
    try {
      for (const auto& k : key_set_options) cases.push_back(parse_key_set(k));
    } catch (const std::invalid_argument& e) {
      std::cerr << e.what() << "\n";
      return 2;
    }
  }

  try {
    std::optional<test::SoftHsmToken> temp;
    if (conf.empty()) {
      temp.emplace("bench");
      token = temp->label();
      pin_file = temp->user_pin_source().substr(5);
      so_pin_file = temp->so_pin_source().substr(5);
    } else {
      if (token.empty() || pin_file.empty() || (so_pin_file.empty() && kek_option.empty())) {
        std::cerr << "--conf needs --token, --pin-file and --so-pin-file or --kek\n";
        return 2;
      }
      ::setenv("SOFTHSM2_CONF", conf.c_str(), 1);
    }
    auto config = [&](hsm::LoginRole role) {
      hsm::HsmConfig c;
      c.module_path = module;
      c.token = token;
      c.pin = hsm::PinSource::parse("file:" + (role == hsm::LoginRole::User ? pin_file : so_pin_file));
      c.role = role;
      c.max_sessions = 8;
      return c;
    };

    const std::string tag = "bench-" + std::to_string(::getpid());
    const bool own_kek = kek_option.empty();
    const std::string kek = own_kek ? hsm::kek_label(tag, 1) : kek_option;
    if (own_kek) {
      hsm::Hsm so(config(hsm::LoginRole::SecurityOfficer));
      hsm::KekStore(so).create_kek(kek, gp::view(so.generate_random(32)));
    }

    nlohmann::json results = nlohmann::json::array();
    {
      hsm::Hsm user(config(hsm::LoginRole::User));
      hsm::MasterKeyStore masters(user);
      hsm::KeyRelease release(user);
      std::vector<std::string> created;
      unsigned kvn = 1;
      for (const Case& c : cases) {
        hsm::MasterKeyRef ref;
        if (c.existing) {
          ref = *c.existing;
        } else {
          auto set = masters.generate({tag, kvn++, c.type, false, c.method});
          ref = set.ref;
          for (auto r : gp::kKeyRoles) created.push_back(ref.of(r));
        }
        const auto scheme = gp::DiversificationScheme::of(c.method);
        const auto alg = gp::gp_kcv_alg(c.type);
        release.derive_and_wrap(ref, scheme, c.type, alg, gp::Bytes(10, 0), kek);  // warm the caches
        for (unsigned threads : thread_counts) {
          std::atomic<bool> stop{false};
          std::atomic<std::uint64_t> done{0}, errors{0};
          auto worker = [&](unsigned id) {
            gp::Bytes kdd = gp::random_bytes(10);
            kdd[0] = static_cast<std::uint8_t>(id);
            std::uint64_t n = 0;
            while (!stop.load(std::memory_order_relaxed)) {
              kdd[9] = static_cast<std::uint8_t>(n);
              kdd[8] = static_cast<std::uint8_t>(n >> 8);
              try {
                release.derive_and_wrap(ref, scheme, c.type, alg, kdd, kek);
                ++n;
              } catch (const std::exception&) {
                ++errors;
              }
            }
            done += n;
          };
          const auto start = Clock::now();
          std::vector<std::thread> pool;
          for (unsigned t = 0; t < threads; ++t) pool.emplace_back(worker, t);
          std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
          stop = true;
          for (auto& t : pool) t.join();
          const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
          const double keysets = static_cast<double>(done.load()) / elapsed;
          results.push_back({{"key_set", c.existing ? c.name : "generated"},
                             {"method", gp::method_name(c.method)},
                             {"key_type", gp::key_type_name(c.type)},
                             {"threads", threads},
                             {"keysets", done.load()},
                             {"errors", errors.load()},
                             {"seconds", elapsed},
                             {"keysets_per_s", std::round(keysets * 10) / 10},
                             {"keys_per_s", std::round(keysets * 30) / 10}});
          std::cerr << (c.existing ? c.name + " " : std::string()) << gp::method_name(c.method) << " "
                    << gp::key_type_name(c.type) << " threads=" << threads << ": "
                    << static_cast<long>(keysets) << " key sets/s\n";
        }
      }
      for (const auto& l : created) {
        try {
          user.destroy_object(l);
        } catch (const hsm::HsmError&) {  // shared labels were destroyed already
        }
      }
    }
    if (own_kek) {
      hsm::Hsm so(config(hsm::LoginRole::SecurityOfficer));
      so.destroy_object(kek);
    }
    nlohmann::json doc{{"bench", "hsm_ceiling"},
                       {"what", "KeyRelease::derive_and_wrap = (derive + KCV + wrap + destroy) x 3 per key set"},
                       {"module", module},
                       {"token", conf.empty() ? "throwaway" : token},
                       {"hardware_concurrency", std::thread::hardware_concurrency()},
                       {"results", results}};
    std::cout << doc.dump(1) << "\n";
  } catch (const std::exception& e) {
    std::cerr << "bench_hsm_ceiling: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
