// The HSM ceiling of the key-release service: exactly the per-key-set HSM work the server does
// for one WSGetDiversifiedKeys (KeyRelease::derive_and_wrap: derive, KCV, wrap, destroy for
// ENC, MAC and DEK) in a loop, for each demo key type, with 1 and 2 threads.
//
//   bench_hsm_ceiling [--seconds 2] [--threads 1,2]                  (a throwaway token)
//   bench_hsm_ceiling --conf softhsm2.conf --token sekds --pin-file user.pin --so-pin-file so.pin
//   bench_hsm_ceiling --conf softhsm2.conf --token sekds --pin-file user.pin --kek sekds/kek/tsm1/1
//
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
};

const std::vector<Case> kCases{
    {gp::DiversificationMethod::Emv, gp::KeyType::Des2},        {gp::DiversificationMethod::Visa2, gp::KeyType::Des2},
    {gp::DiversificationMethod::Kdf3, gp::KeyType::Aes128},     {gp::DiversificationMethod::Kdf3, gp::KeyType::Aes192},
    {gp::DiversificationMethod::Kdf3, gp::KeyType::Aes256},     {gp::DiversificationMethod::Scp03Kdf, gp::KeyType::Aes128},
    {gp::DiversificationMethod::Scp03Kdf, gp::KeyType::Aes256}, {gp::DiversificationMethod::None, gp::KeyType::Aes128},
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"HSM ceiling: KeyRelease::derive_and_wrap key sets per second against a PKCS#11 token"};
  std::string conf, token, pin_file, so_pin_file, kek_option, module = test::SoftHsmToken::module_path();
  double seconds = 2.0;
  std::vector<unsigned> thread_counts{1, 2};
  app.add_option("--conf", conf, "SOFTHSM2_CONF of an existing token (default: a throwaway token)");
  app.add_option("--token", token, "token label or pkcs11: URI (with --conf)");
  app.add_option("--pin-file", pin_file, "user PIN file, mode 0600 (with --conf)");
  app.add_option("--so-pin-file", so_pin_file, "SO PIN file, mode 0600 (with --conf, to create a trusted KEK)");
  app.add_option("--kek", kek_option, "an existing trusted KEK label to wrap under (instead of --so-pin-file)");
  app.add_option("--module", module, "PKCS#11 module");
  app.add_option("--seconds", seconds, "measuring time per case and thread count")->check(CLI::Range(0.1, 600.0));
  app.add_option("--threads", thread_counts, "thread counts")->delimiter(',');
  CLI11_PARSE(app, argc, argv);

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
      for (const Case& c : kCases) {
        auto set = masters.generate({tag, kvn++, c.type, false, c.method});
        for (auto r : gp::kKeyRoles) created.push_back(set.ref.of(r));
        const auto scheme = gp::DiversificationScheme::of(c.method);
        const auto alg = gp::gp_kcv_alg(c.type);
        release.derive_and_wrap(set.ref, scheme, c.type, alg, gp::Bytes(10, 0), kek);  // warm the caches
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
                release.derive_and_wrap(set.ref, scheme, c.type, alg, kdd, kek);
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
          results.push_back({{"method", gp::method_name(c.method)},
                             {"key_type", gp::key_type_name(c.type)},
                             {"threads", threads},
                             {"keysets", done.load()},
                             {"errors", errors.load()},
                             {"seconds", elapsed},
                             {"keysets_per_s", std::round(keysets * 10) / 10},
                             {"keys_per_s", std::round(keysets * 30) / 10}});
          std::cerr << gp::method_name(c.method) << " " << gp::key_type_name(c.type) << " threads=" << threads << ": "
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
