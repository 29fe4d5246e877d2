// derive_and_wrap against the software reference (gp::diversify_key) for every method and key
// type, the public vectors through the HSM path, refusals, cleanup and concurrency.
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <thread>

#include "fixture.h"
#include "gp/crypto.h"
#include "gp/diversification.h"
#include "gp/kcv.h"
#include "hsm/key_release.h"
#include "hsm/master_keys.h"
#include "support/vectors.h"

using namespace sekds;
using gp::DiversificationMethod;
using hsm::HsmErrc;
using hsmtest::expect_hsm_error;
using hsmtest::split;

namespace {

const gp::Bytes kKek = gp::from_hex("5A5B5C5D5E5F606162636465666768696A6B6C6D6E6F70717273747576777879");
const char* kKekLabel = "sekds/kek/tsm1/1";

struct KeySet {
  hsm::MasterKeyRef ref;
  std::vector<gp::SecureBytes> masters;  // ENC, MAC, DEK (equal when shared)
};

KeySet import(hsm::Hsm& h, const std::string& issuer, unsigned kvn, gp::KeyType type, bool shared,
              DiversificationMethod method, const gp::KdfLayout& layout = {}) {
  KeySet ks;
  std::vector<hsm::KeyComponents> comps;
  for (int i = 0; i < (shared ? 1 : 3); ++i) {
    ks.masters.push_back(gp::random_secure(gp::key_length(type)));
    comps.push_back(split(gp::view(ks.masters.back()), type));
  }
  while (ks.masters.size() < 3) ks.masters.push_back(ks.masters.front());
  ks.ref = hsm::MasterKeyStore(h).import_components({issuer, kvn, type, shared, method, layout}, comps).ref;
  return ks;
}

std::size_t role_index(gp::KeyRole r) { return static_cast<std::size_t>(r) - 1; }

// Unwraps each released key with the KEK (OpenSSL) and compares it with the software reference.
void check_release(const hsm::ReleasedKeys& out, const KeySet& ks, const gp::DiversificationScheme& scheme,
                   gp::KeyType type, gp::KcvAlg alg, gp::ByteView kdd) {
  for (gp::KeyRole role : gp::kKeyRoles) {
    BOOST_TEST_CONTEXT(gp::method_name(scheme.method) << " " << gp::key_type_name(type) << " " << gp::key_role_name(role)) {
      const auto& w = out.of(role);
      BOOST_TEST(w.wrapped.size() == gp::key_length(type) + 8);
      gp::SecureBytes plain = hsmtest::aes_unwrap(kKek, w.wrapped);
      gp::SecureBytes ref = gp::diversify_key(scheme, gp::view(ks.masters[role_index(role)]), kdd, role);
      if (gp::is_aes(type))
        BOOST_TEST(gp::to_hex(gp::view(plain)) == gp::to_hex(gp::view(ref)));
      else
        BOOST_TEST(gp::equal_des_mod_parity(gp::view(plain), gp::view(ref)));
      BOOST_TEST(gp::to_hex(w.kcv) == gp::to_hex(gp::kcv(alg, gp::view(ref))));
    }
  }
}

// Session objects other than the Hsm's working copies of masters and KEKs (Hsm::find_working_copy).
std::size_t session_objects(hsm::Hsm& h) {
  return h.with_session("count", [&](hsm::Session& s) {
    hsm::Template t;
    t.add(CKA_TOKEN, false);
    std::size_t n = 0;
    for (CK_OBJECT_HANDLE o : s.find(t, 64)) {
      char label[256] = {};
      CK_ATTRIBUTE a{CKA_LABEL, label, sizeof label - 1};
      const bool labelled = s.fn()->C_GetAttributeValue(s.handle(), o, &a, 1) == CKR_OK;
      const std::string l(label, labelled ? a.ulValueLen : 0);
      const std::string suffix = hsm::Hsm::kWorkingCopySuffix;
      if (l.size() < suffix.size() || l.compare(l.size() - suffix.size(), suffix.size(), suffix) != 0) ++n;
    }
    return n;
  });
}

struct ReleaseFixture : hsmtest::TokenFixture {
  std::unique_ptr<hsm::Hsm> h;
  ReleaseFixture() {
    make_kek(kKekLabel, kKek);
    h = open();
  }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(key_release, ReleaseFixture)

BOOST_AUTO_TEST_CASE(every_method_and_key_type_matches_the_software_reference) {
  struct Case {
    DiversificationMethod method;
    gp::KeyType type;
    bool shared;
    std::string layout;  // for scp03kdf; empty = default
    gp::KcvAlg alg;
  };
  const std::vector<Case> cases{
      {DiversificationMethod::Emv, gp::KeyType::Des2, true, "", gp::KcvAlg::Des3Zero},
      {DiversificationMethod::Emv, gp::KeyType::Des2, false, "", gp::KcvAlg::Des3Zero},
      {DiversificationMethod::Visa2, gp::KeyType::Des2, true, "", gp::KcvAlg::Des3Zero},
      {DiversificationMethod::Visa2, gp::KeyType::Des2, false, "", gp::KcvAlg::Des3Zero},
      {DiversificationMethod::Kdf3, gp::KeyType::Aes128, true, "", gp::KcvAlg::AesGp},
      {DiversificationMethod::Kdf3, gp::KeyType::Aes192, false, "", gp::KcvAlg::AesGp},
      {DiversificationMethod::Kdf3, gp::KeyType::Aes256, true, "", gp::KcvAlg::AesCmac},
      {DiversificationMethod::Scp03Kdf, gp::KeyType::Aes128, false, "", gp::KcvAlg::AesGp},  // 26-byte input
      {DiversificationMethod::Scp03Kdf, gp::KeyType::Aes256, true, "", gp::KcvAlg::AesGp},
      {DiversificationMethod::Scp03Kdf, gp::KeyType::Aes192, true, "000000000000000000000000|L|i|k|kdd", gp::KcvAlg::AesGp},
      // Exactly two full blocks: the last block is masked with K1, not padded.
      {DiversificationMethod::Scp03Kdf, gp::KeyType::Aes256, false, "0000000000000000000000|k|00|L|i|kdd|AABBCCDDEEFF",
       gp::KcvAlg::AesGp},
      {DiversificationMethod::None, gp::KeyType::Des2, true, "", gp::KcvAlg::Des3Zero},
      {DiversificationMethod::None, gp::KeyType::Des3, false, "", gp::KcvAlg::Des3Zero},
      {DiversificationMethod::None, gp::KeyType::Aes128, false, "", gp::KcvAlg::AesGp},
      {DiversificationMethod::None, gp::KeyType::Aes192, true, "", gp::KcvAlg::AesGp},
      {DiversificationMethod::None, gp::KeyType::Aes256, true, "", gp::KcvAlg::AesCmac},
  };
  hsm::KeyRelease release(*h);
  unsigned kvn = 1;
  for (const Case& c : cases) {
    auto scheme = gp::DiversificationScheme::of(c.method);
    if (!c.layout.empty()) scheme.layout = gp::KdfLayout::parse(c.layout);
    BOOST_TEST_CONTEXT("case " << kvn << ": " << gp::method_name(c.method) << " " << gp::key_type_name(c.type)
                               << (c.shared ? " shared" : " per role") << " " << scheme.layout.spec()) {
      KeySet ks = import(*h, "issuer", kvn++, c.type, c.shared, c.method, scheme.layout);
      for (int n = 0; n < 3; ++n) {  // several cards: the caches must not mix them up
        gp::Bytes kdd = gp::random_bytes(10);
        auto out = release.derive_and_wrap(ks.ref, scheme, c.type, c.alg, kdd, kKekLabel);
        check_release(out, ks, scheme, c.type, c.alg, kdd);
      }
    }
  }
  BOOST_TEST(session_objects(*h) == 0u);  // every derived key was destroyed
}

BOOST_AUTO_TEST_CASE(public_vectors_through_the_hsm) {
  auto j = test::load_vectors("diversification.json");
  hsm::KeyRelease release(*h);
  std::size_t i = 0, run = 0;
  for (const auto& v : j["vectors"]) {
    BOOST_TEST_CONTEXT(test::vector_label(v, i)) {
      auto method = gp::parse_method(v.at("method").get<std::string>());
      BOOST_REQUIRE(method.has_value());
      auto scheme = gp::DiversificationScheme::of(*method);
      gp::Bytes master = test::hex_field(v, "master"), kdd = test::hex_field(v, "kdd");
      auto type = gp::method_is_des(*method) ? std::optional<gp::KeyType>(gp::KeyType::Des2)
                                             : gp::aes_type_for_length(master.size());
      BOOST_REQUIRE(type.has_value());
      auto set = hsm::MasterKeyStore(*h).import_components(
          {"vectors", static_cast<unsigned>(++i), *type, true, *method}, {split(master, *type)});
      const auto alg = gp::gp_kcv_alg(*type);
      auto out = release.derive_and_wrap(set.ref, scheme, *type, alg, kdd, kKekLabel);
      if (v.contains("kcv")) {
        BOOST_REQUIRE(v.at("kcv_alg").get<std::string>() == (gp::is_aes(*type) ? "aes" : "des3"));
        for (gp::KeyRole role : gp::kKeyRoles)
          BOOST_TEST(gp::to_hex(out.of(role).kcv) ==
                         gp::to_hex(gp::from_hex(v["kcv"].at(gp::key_role_name(role)).get<std::string>())),
                     gp::key_role_name(role));
        ++run;
      } else {
        const std::string purpose = v.at("purpose").get<std::string>();
        const gp::KeyRole role = purpose == "ENC" ? gp::KeyRole::Enc : purpose == "MAC" ? gp::KeyRole::Mac : gp::KeyRole::Dek;
        gp::SecureBytes plain = hsmtest::aes_unwrap(kKek, out.of(role).wrapped);
        BOOST_TEST(gp::to_hex(gp::view(plain)) == gp::to_hex(test::hex_field(v, "expected_key")));
        ++run;
      }
    }
  }
  BOOST_TEST(run == j["vectors"].size());
}

BOOST_AUTO_TEST_CASE(refusals_are_named_and_leave_nothing_behind) {
  KeySet ks = import(*h, "issuer", 1, gp::KeyType::Aes128, true, DiversificationMethod::Kdf3);
  KeySet des = import(*h, "issuer", 2, gp::KeyType::Des2, true, DiversificationMethod::Emv);
  const auto kdf3 = gp::DiversificationScheme::of(DiversificationMethod::Kdf3);
  const auto emv = gp::DiversificationScheme::of(DiversificationMethod::Emv);
  const gp::Bytes kdd(10, 0x11);
  hsm::KeyRelease release(*h);

  // A wrapping key the SO never marked trusted: the derived keys (CKA_WRAP_WITH_TRUSTED) refuse it.
  h->with_session("untrusted KEK", [&](hsm::Session& s) {
    hsm::Template t;
    hsm::add_secret_key_type(t, gp::KeyType::Aes128)
        .add(CKA_TOKEN, true)
        .add(CKA_SENSITIVE, true)
        .add(CKA_EXTRACTABLE, false)
        .add(CKA_WRAP, true)
        .add(CKA_LABEL, std::string_view("sekds/kek/rogue/1"));
    s.generate_key(CKM_AES_KEY_GEN, t);
  });
  auto e = expect_hsm_error(
      [&] { release.derive_and_wrap(ks.ref, kdf3, gp::KeyType::Aes128, gp::KcvAlg::AesGp, kdd, "sekds/kek/rogue/1"); });
  BOOST_TEST(e.name() == "CKR_KEY_NOT_WRAPPABLE");
  BOOST_TEST(!e.unavailable());
  BOOST_TEST(session_objects(*h) == 0u);  // the derived key was destroyed on the error path

  e = expect_hsm_error(
      [&] { release.derive_and_wrap(ks.ref, kdf3, gp::KeyType::Aes128, gp::KcvAlg::AesGp, kdd, "sekds/kek/none/1"); });
  BOOST_TEST((e.code() == HsmErrc::ObjectNotFound));
  BOOST_TEST(!e.unavailable());
  e = expect_hsm_error([&] {
    release.derive_and_wrap(hsm::MasterKeyRef::shared("sekds/mk/nobody/1/all"), kdf3, gp::KeyType::Aes128,
                            gp::KcvAlg::AesGp, kdd, kKekLabel);
  });
  BOOST_TEST((e.code() == HsmErrc::ObjectNotFound));

  auto invalid = [&](const hsm::MasterKeyRef& ref, const gp::DiversificationScheme& sc, gp::KeyType t, gp::KcvAlg a,
                     gp::ByteView k) {
    return expect_hsm_error([&] { release.derive_and_wrap(ref, sc, t, a, k, kKekLabel); }).code();
  };
  BOOST_TEST((invalid(ks.ref, kdf3, gp::KeyType::Aes256, gp::KcvAlg::AesGp, kdd) == HsmErrc::InvalidArgument));
  BOOST_TEST((invalid(ks.ref, kdf3, gp::KeyType::Aes128, gp::KcvAlg::Des3Zero, kdd) == HsmErrc::InvalidArgument));
  BOOST_TEST((invalid(ks.ref, kdf3, gp::KeyType::Aes128, gp::KcvAlg::AesGp, gp::Bytes(9, 1)) == HsmErrc::InvalidArgument));
  BOOST_TEST((invalid(ks.ref, emv, gp::KeyType::Des2, gp::KcvAlg::Des3Zero, kdd) == HsmErrc::InvalidArgument));
  BOOST_TEST((invalid(des.ref, kdf3, gp::KeyType::Aes128, gp::KcvAlg::AesGp, kdd) == HsmErrc::InvalidArgument));
  BOOST_TEST((invalid(des.ref, gp::DiversificationScheme::of(DiversificationMethod::None), gp::KeyType::Des2,
                      gp::KcvAlg::Des3Zero, kdd) == HsmErrc::InvalidArgument));  // no direct-release data
  BOOST_TEST(session_objects(*h) == 0u);
}

// The ceremony records what a release needs from a master (ceremony_values.h); a release never
// derives a readable value itself. So a layout that would need a per-card readable chaining
// value is refused when the key set is made, a release for a layout the ceremony did not record
// is refused, and a master without the record is refused rather than served.
BOOST_AUTO_TEST_CASE(releases_need_no_readable_derivation) {
  const gp::KdfLayout kdd_first = gp::KdfLayout::parse("kdd|i|k|00|L|0000000000000000");
  const std::vector<hsm::KeyComponents> comps{split(gp::Bytes(24, 0x21), gp::KeyType::Aes192)};
  hsm::MasterKeyStore masters(*h);
  for (int generate = 0; generate < 2; ++generate) {
    auto e = expect_hsm_error([&] {
      const hsm::MasterKeySetSpec spec{"issuer", 7, gp::KeyType::Aes192, true, DiversificationMethod::Scp03Kdf, kdd_first};
      if (generate != 0)
        masters.generate(spec);
      else
        masters.import_components(spec, comps);
    });
    BOOST_TEST((e.code() == HsmErrc::Unsupported));
    BOOST_TEST(std::string(e.what()).find("puts KDD bytes before the last CMAC block") != std::string::npos);
    BOOST_TEST(!h->with_session("look", [&](hsm::Session& s) { return h->label_exists(s, "sekds/mk/issuer/7/all"); }));
  }

  hsm::KeyRelease release(*h);
  KeySet std_layout = import(*h, "issuer", 8, gp::KeyType::Aes128, true, DiversificationMethod::Scp03Kdf);
  auto other = gp::DiversificationScheme::of(DiversificationMethod::Scp03Kdf);
  other.layout = gp::KdfLayout::parse("111111111111111111111111|L|i|k|kdd");
  auto e = expect_hsm_error(
      [&] { release.derive_and_wrap(std_layout.ref, other, gp::KeyType::Aes128, gp::KcvAlg::AesGp, gp::Bytes(10, 1), kKekLabel); });
  BOOST_TEST((e.code() == HsmErrc::Unsupported));
  BOOST_TEST(std::string(e.what()).find("no recorded chaining value") != std::string::npos);

  // A master made without a ceremony record (as before the key policy): refused, not derived.
  const std::string bare = "sekds/mk/bare/1/all";
  h->with_session("bare master", [&](hsm::Session& s) {
    hsm::Template t;
    hsm::add_secret_key_type(t, gp::KeyType::Aes128)
        .add(CKA_TOKEN, true)
        .add(CKA_PRIVATE, true)
        .add(CKA_SENSITIVE, true)
        .add(CKA_EXTRACTABLE, false)
        .add(CKA_DERIVE, true)
        .add(CKA_LABEL, std::string_view(bare));
    s.generate_key(CKM_AES_KEY_GEN, t);
  });
  e = expect_hsm_error([&] {
    release.derive_and_wrap(hsm::MasterKeyRef::shared(bare), gp::DiversificationScheme::of(DiversificationMethod::Kdf3),
                            gp::KeyType::Aes128, gp::KcvAlg::AesGp, gp::Bytes(10, 1), kKekLabel);
  });
  BOOST_TEST((e.code() == HsmErrc::Unsupported));
  BOOST_TEST(std::string(e.what()).find("no ceremony values record") != std::string::npos);
  BOOST_TEST(session_objects(*h) == 0u);
}

BOOST_AUTO_TEST_CASE(concurrent_releases_are_correct) {
  KeySet aes = import(*h, "issuer", 1, gp::KeyType::Aes256, false, DiversificationMethod::Kdf3);
  KeySet des = import(*h, "issuer", 2, gp::KeyType::Des2, true, DiversificationMethod::Visa2);
  KeySet scp = import(*h, "issuer", 3, gp::KeyType::Aes128, true, DiversificationMethod::Scp03Kdf);
  hsm::KeyRelease release(*h);
  std::atomic<int> failures{0}, done{0};
  auto worker = [&](int id) {
    for (int n = 0; n < 40; ++n) {
      gp::Bytes kdd = gp::random_bytes(10);
      const int pick = (id + n) % 3;
      const KeySet& ks = pick == 0 ? aes : pick == 1 ? des : scp;
      const auto method = pick == 0 ? DiversificationMethod::Kdf3
                          : pick == 1 ? DiversificationMethod::Visa2
                                      : DiversificationMethod::Scp03Kdf;
      const auto type = pick == 0 ? gp::KeyType::Aes256 : pick == 1 ? gp::KeyType::Des2 : gp::KeyType::Aes128;
      const auto scheme = gp::DiversificationScheme::of(method);
      try {
        auto out = release.derive_and_wrap(ks.ref, scheme, type, gp::gp_kcv_alg(type), kdd, kKekLabel);
        for (gp::KeyRole role : gp::kKeyRoles) {
          gp::SecureBytes plain = hsmtest::aes_unwrap(kKek, out.of(role).wrapped);
          gp::SecureBytes ref = gp::diversify_key(scheme, gp::view(ks.masters[role_index(role)]), kdd, role);
          bool same = gp::is_aes(type) ? gp::equal_ct(gp::view(plain), gp::view(ref))
                                       : gp::equal_des_mod_parity(gp::view(plain), gp::view(ref));
          if (!same) ++failures;
        }
        ++done;
      } catch (const std::exception&) {
        ++failures;
      }
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) threads.emplace_back(worker, t);
  for (auto& t : threads) t.join();
  BOOST_TEST(failures.load() == 0);
  BOOST_TEST(done.load() == 6 * 40);
  BOOST_TEST(session_objects(*h) == 0u);
  BOOST_TEST(h->status().open_sessions <= 6u);
}

BOOST_AUTO_TEST_SUITE_END()
