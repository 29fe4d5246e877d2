// Connecting to a token: by label and pkcs11: URI, PIN refusal, outages and recovery without
// re-creating the Hsm (module path that fails then works; token directory moved away and back).
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>
#include <vector>

#include "fixture.h"
#include "gp/diversification.h"
#include "hsm/kek.h"
#include "hsm/key_release.h"
#include "hsm/master_keys.h"

using namespace sekds;
using hsm::HsmErrc;
using hsm::HsmError;
using hsmtest::expect_hsm_error;

namespace {

// Calls f until it stops throwing an *unavailable* HsmError; waits a little between tries.
// Only a deadline for giving up, not a timing assertion.
template <class F>
auto until_available(F&& f) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    try {
      return f();
    } catch (const HsmError& e) {
      if (!e.unavailable() || std::chrono::steady_clock::now() > deadline) throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
  }
}

}  // namespace

BOOST_FIXTURE_TEST_SUITE(connection, hsmtest::TokenFixture)

BOOST_AUTO_TEST_CASE(opens_by_label_and_by_uri) {
  {
    auto h = open();
    auto a = h->generate_random(32), b = h->generate_random(32);
    BOOST_TEST(a.size() == 32u);
    BOOST_TEST(gp::to_hex(gp::view(a)) != gp::to_hex(gp::view(b)));
    auto st = h->status();
    BOOST_TEST(st.connected);
    BOOST_TEST(st.connects == 1u);
    BOOST_TEST(st.last_error.empty());
  }
  {
    auto c = config();
    c.token = "pkcs11:token=" + token.label() + ";serial=" + token.serial(token.label()) +
              ";manufacturer=SoftHSM%20project";
    hsm::Hsm h(c);
    BOOST_TEST(h.generate_random(8).size() == 8u);
  }
  {
    auto c = config();
    c.token = "pkcs11:token=" + token.label() + ";serial=0000000000000000";
    auto e = expect_hsm_error([&] { hsm::Hsm h(c); });
    BOOST_TEST((e.code() == HsmErrc::TokenNotFound));
    BOOST_TEST(e.unavailable());
    BOOST_TEST(std::string(e.what()).find("present: 'hsm-test'") != std::string::npos, e.what());
  }
}

BOOST_AUTO_TEST_CASE(wrong_pin_is_refused_and_never_retried) {
  test::write_file(token.dir() + "/wrong.pin", "000000\n", 0600);
  auto c = config();
  c.pin = hsm::PinSource::parse("file:" + token.dir() + "/wrong.pin");
  for (auto mode : {hsm::ConnectMode::Now, hsm::ConnectMode::Lazy}) {
    auto e = expect_hsm_error([&] { hsm::Hsm h(c, mode); });
    BOOST_TEST((e.code() == HsmErrc::LoginRefused));
    BOOST_TEST(!e.unavailable());
    BOOST_TEST(std::string(e.what()).find("CKR_PIN_INCORRECT") != std::string::npos, e.what());
    BOOST_TEST(std::string(e.what()).find("000000") == std::string::npos);  // never the PIN
  }
  // An unsafe PIN file is a configuration error reported by the constructor.
  test::write_file(token.dir() + "/open.pin", token.user_pin() + "\n", 0644);
  c.pin = hsm::PinSource::parse("file:" + token.dir() + "/open.pin");
  BOOST_TEST((expect_hsm_error([&] { hsm::Hsm h(c); }).code() == HsmErrc::PinSource));
}

BOOST_AUTO_TEST_CASE(module_that_fails_to_load_then_appears) {
  test::TempDir d;
  auto c = config();
  c.module_path = d.path() + "/libpkcs11.so";  // does not exist yet
  BOOST_TEST((expect_hsm_error([&] { hsm::Hsm h(c); }).code() == HsmErrc::ModuleLoad));

  hsm::Hsm h(c, hsm::ConnectMode::Lazy);  // may start while the HSM is unavailable
  auto e = expect_hsm_error([&] { h.generate_random(8); });
  BOOST_TEST(e.unavailable());
  BOOST_TEST(e.name() == "ModuleLoad");
  BOOST_TEST(std::string(e.what()).rfind("HSM unavailable: ", 0) == 0, e.what());
  BOOST_TEST(!h.status().connected);

  BOOST_REQUIRE(::symlink(test::SoftHsmToken::module_path().c_str(), c.module_path.c_str()) == 0);
  auto r = until_available([&] { return h.generate_random(8); });
  BOOST_TEST(r.size() == 8u);
  BOOST_TEST(h.status().connected);
  BOOST_TEST(h.status().connects == 1u);
}

BOOST_AUTO_TEST_CASE(fails_fast_during_back_off) {
  test::TempDir d;
  auto c = config();
  c.module_path = d.path() + "/libpkcs11.so";
  c.retry_initial = c.retry_max = std::chrono::hours(1);
  hsm::Hsm h(c, hsm::ConnectMode::Lazy);
  const auto attempts = h.status().reconnect_attempts;
  BOOST_TEST(attempts == 1u);
  for (int i = 0; i < 50; ++i) {
    auto e = expect_hsm_error([&] { h.generate_random(8); });
    BOOST_TEST(e.unavailable());
    BOOST_TEST(std::string(e.what()).find("next reconnect attempt in") != std::string::npos, e.what());
  }
  BOOST_TEST(h.status().reconnect_attempts == attempts);  // no hammering
  BOOST_TEST(h.status().retry_in.count() > 0);
  BOOST_REQUIRE(::symlink(test::SoftHsmToken::module_path().c_str(), c.module_path.c_str()) == 0);
  BOOST_TEST(h.reconnect_now());  // operator action ignores the back-off
  BOOST_TEST(h.generate_random(4).size() == 4u);
}

BOOST_AUTO_TEST_CASE(token_directory_moved_away_and_back) {
  const gp::Bytes kek_value = gp::from_hex("000102030405060708090A0B0C0D0E0F");
  make_kek("sekds/kek/tsm1/1", kek_value);
  auto h = open();
  hsm::MasterKeyStore(*h).generate({"issuerA", 1, gp::KeyType::Aes128, true, gp::DiversificationMethod::Kdf3});
  hsm::KeyRelease release(*h);
  const auto scheme = gp::DiversificationScheme::of(gp::DiversificationMethod::Kdf3);
  const gp::Bytes kdd = gp::from_hex("00010203040506070809");
  auto ref = hsm::MasterKeyRef::of_key_set("issuerA", 1, true);
  auto call = [&] {
    return release.derive_and_wrap(ref, scheme, gp::KeyType::Aes128, gp::KcvAlg::AesGp, kdd, "sekds/kek/tsm1/1");
  };
  const auto before = call();

  const std::string away = token.dir() + "/tokens.away";
  BOOST_REQUIRE(std::rename(token.tokens_dir().c_str(), away.c_str()) == 0);
  // The in-memory working copies of the masters and KEK are used until their originals are
  // looked at again (Hsm::kWorkingCopyRecheck): from then on the token is missed.
  std::this_thread::sleep_for(hsm::Hsm::kWorkingCopyRecheck + std::chrono::milliseconds(50));
  auto e = expect_hsm_error(call);
  BOOST_TEST(e.unavailable(), e.what());
  BOOST_TEST_MESSAGE("token directory gone: " << e.name() << ": " << e.what());
  BOOST_TEST(!h->status().connected);
  // While it is away, every call is an outage (failing fast or a failed reconnect).
  for (int i = 0; i < 3; ++i) {
    auto again = expect_hsm_error(call);
    BOOST_TEST(again.unavailable(), again.what());
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
  }

  BOOST_REQUIRE(std::rename(away.c_str(), token.tokens_dir().c_str()) == 0);
  const auto after = until_available(call);  // the same Hsm object recovers
  BOOST_TEST(gp::to_hex(after.enc.wrapped) == gp::to_hex(before.enc.wrapped));
  BOOST_TEST(gp::to_hex(after.dek.kcv) == gp::to_hex(before.dek.kcv));
  BOOST_TEST(h->status().connected);
  BOOST_TEST(h->status().connects == 2u);
}

BOOST_AUTO_TEST_CASE(outage_under_concurrent_load) {
  make_kek("sekds/kek/tsm1/1", gp::from_hex("000102030405060708090A0B0C0D0E0F"));
  auto h = open();
  hsm::MasterKeyStore(*h).generate({"issuerD", 1, gp::KeyType::Des2, false, gp::DiversificationMethod::Visa2});
  hsm::KeyRelease release(*h);
  const auto scheme = gp::DiversificationScheme::of(gp::DiversificationMethod::Visa2);
  const auto ref = hsm::MasterKeyRef::of_key_set("issuerD", 1, false);
  std::atomic<bool> stop{false}, moved_back{false};
  std::atomic<int> ok_after{0}, outages{0}, other{0};
  std::string other_text;
  std::mutex other_mu;
  auto worker = [&] {
    gp::Bytes kdd(10, 0x42);
    while (!stop) {
      try {
        release.derive_and_wrap(ref, scheme, gp::KeyType::Des2, gp::KcvAlg::Des3Zero, kdd, "sekds/kek/tsm1/1");
        if (moved_back) ++ok_after;
      } catch (const HsmError& e) {
        if (e.unavailable()) {
          ++outages;
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
        } else {
          ++other;
          std::lock_guard lk(other_mu);
          other_text = e.what();
        }
      }
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) threads.emplace_back(worker);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const std::string away = token.dir() + "/tokens.away";
  BOOST_REQUIRE(std::rename(token.tokens_dir().c_str(), away.c_str()) == 0);
  std::this_thread::sleep_for(hsm::Hsm::kWorkingCopyRecheck + std::chrono::milliseconds(300));
  BOOST_REQUIRE(std::rename(away.c_str(), token.tokens_dir().c_str()) == 0);
  moved_back = true;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (ok_after < 20 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  stop = true;
  for (auto& t : threads) t.join();
  BOOST_TEST(outages.load() > 0);
  BOOST_TEST(other.load() == 0, other_text);
  BOOST_TEST(ok_after.load() >= 20);
  BOOST_TEST(h->status().connected);
}

BOOST_AUTO_TEST_CASE(objects_made_and_removed_by_another_process_are_seen) {
  // The admin CLI changes the token while the server runs: no restart may be needed.
  auto h = open();
  auto p11 = [&](std::vector<std::string> args) {
    std::vector<std::string> argv{"pkcs11-tool", "--module", test::SoftHsmToken::module_path(), "--token-label",
                                  token.label(), "--login", "--pin", "env:SEKDS_TEST_P11_PIN"};
    argv.insert(argv.end(), args.begin(), args.end());
    std::string out;
    int rc = test::SoftHsmToken::run(argv, &out, {"SEKDS_TEST_P11_PIN=" + token.user_pin()});
    BOOST_REQUIRE_MESSAGE(rc == 0, out);
  };
  auto handle_of = [&](const std::string& label) {
    return h->with_session("find", [&](hsm::Session& s) { return h->find_object(s, CKO_SECRET_KEY, label); });
  };
  auto value_len = [&](const std::string& label) {
    return h->with_session("len", [&](hsm::Session& s) {
      return s.get_ulong(h->find_object(s, CKO_SECRET_KEY, label), CKA_VALUE_LEN);
    });
  };
  BOOST_TEST((expect_hsm_error([&] { handle_of("other-process"); }).code() == HsmErrc::ObjectNotFound));
  p11({"--keygen", "--key-type", "AES:16", "--label", "other-process", "--sensitive"});
  BOOST_TEST(value_len("other-process") == 16u);  // created elsewhere, found here
  // Replaced elsewhere under the same label: the cached handle goes stale and is looked up again.
  p11({"--delete-object", "--type", "secrkey", "--label", "other-process"});
  p11({"--keygen", "--key-type", "AES:32", "--label", "other-process", "--sensitive"});
  BOOST_TEST(value_len("other-process") == 32u);
  BOOST_TEST(h->status().connects == 1u);  // no reconnect was needed
}

BOOST_AUTO_TEST_CASE(a_master_destroyed_by_another_process_stops_being_used) {
  // Releases work from in-memory working copies; the original on the token is looked at again
  // every kWorkingCopyRecheck, so a master destroyed elsewhere is no longer released from.
  make_kek("sekds/kek/tsm1/1", gp::from_hex("000102030405060708090A0B0C0D0E0F"));
  auto h = open();
  hsm::MasterKeyStore(*h).generate({"issuerM", 1, gp::KeyType::Aes128, true, gp::DiversificationMethod::Kdf3});
  hsm::KeyRelease release(*h);
  const auto scheme = gp::DiversificationScheme::of(gp::DiversificationMethod::Kdf3);
  const auto ref = hsm::MasterKeyRef::of_key_set("issuerM", 1, true);
  auto call = [&] {
    return release.derive_and_wrap(ref, scheme, gp::KeyType::Aes128, gp::KcvAlg::AesGp, gp::Bytes(10, 0x11),
                                   "sekds/kek/tsm1/1");
  };
  (void)call();
  std::string out;
  const int rc = test::SoftHsmToken::run({"pkcs11-tool", "--module", test::SoftHsmToken::module_path(), "--token-label",
                                          token.label(), "--login", "--pin", "env:SEKDS_TEST_P11_PIN", "--delete-object",
                                          "--type", "secrkey", "--label", ref.of(gp::KeyRole::Enc)},
                                         &out, {"SEKDS_TEST_P11_PIN=" + token.user_pin()});
  BOOST_REQUIRE_MESSAGE(rc == 0, out);
  std::this_thread::sleep_for(hsm::Hsm::kWorkingCopyRecheck + std::chrono::milliseconds(50));
  auto e = expect_hsm_error(call);
  BOOST_TEST((e.code() == HsmErrc::ObjectNotFound), e.what());
}

BOOST_AUTO_TEST_CASE(a_reinitialisation_by_one_hsm_is_absorbed_by_the_other) {
  token.add_token("second");
  auto a = open();
  auto cfg = config();
  cfg.token = "second";
  hsm::Hsm b(cfg);
  BOOST_TEST(b.generate_random(4).size() == 4u);
  BOOST_TEST(a->reconnect_now());  // C_Finalize + C_Initialize: b's sessions are gone
  for (int i = 0; i < 5; ++i) {    // b reconnects without failing a call and without re-initialising
    BOOST_TEST(b.generate_random(4).size() == 4u);
    BOOST_TEST(a->generate_random(4).size() == 4u);
  }
  BOOST_TEST(b.status().connects == 2u);
  BOOST_TEST(a->status().connects == 2u);
}

BOOST_AUTO_TEST_CASE(user_and_so_cannot_share_a_token_in_one_process) {
  auto so = open(hsm::LoginRole::SecurityOfficer);
  auto e = expect_hsm_error([&] { hsm::Hsm user(config()); });
  BOOST_TEST(e.name() == "CKR_USER_ANOTHER_ALREADY_LOGGED_IN");
  so.reset();
  hsm::Hsm user(config());  // fine once the SO is gone
  BOOST_TEST(user.generate_random(4).size() == 4u);
}

BOOST_AUTO_TEST_CASE(two_users_share_the_login) {
  auto a = open();
  auto b = open();
  BOOST_TEST(a->generate_random(4).size() == 4u);
  a.reset();  // b's anchor session keeps the token logged in
  hsm::MasterKeyStore mk(*b);
  auto set = mk.generate({"issuerB", 2, gp::KeyType::Des2, true, gp::DiversificationMethod::Emv});
  BOOST_TEST(set.kcv_enc.size() == 3u);
}

BOOST_AUTO_TEST_CASE(destroy_object_by_label) {
  auto h = open();
  hsm::MasterKeyStore mk(*h);
  auto set = mk.generate({"issuerC", 3, gp::KeyType::Aes256, true, gp::DiversificationMethod::None});
  BOOST_TEST(h->destroy_object(set.ref.enc) == 3u);  // the key, its direct-release data, its ceremony record
  auto e = expect_hsm_error([&] { h->destroy_object(set.ref.enc); });
  BOOST_TEST((e.code() == HsmErrc::ObjectNotFound));
  BOOST_TEST(!e.unavailable());
}

BOOST_AUTO_TEST_SUITE_END()
