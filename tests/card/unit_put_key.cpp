// PUT KEY: add and replace key sets in the DES (SCP02) and AES (SCP03) formats; the key
// information template follows; sessions with the new keys work and the old keys fail.
#include <boost/test/unit_test.hpp>

#include "card_fixture.h"
#include "gp/error.h"
#include "gp/put_key.h"
#include "gp/tlv.h"

using namespace sekds;
using namespace sekds::test;

namespace {

gp::StaticKeys random_keys(gp::KeyType type) {
  const std::size_t n = gp::key_length(type);
  return {gp::random_secure(n), gp::random_secure(n), gp::random_secure(n)};
}

// The KVNs of GET DATA 'E0', read with the TLV codec alone: gp/key_information.h and
// gp/put_key.h cannot be included together (both define kKeyTypeDes / kKeyTypeAes).
// Through the open channel when there is one (a plain command would end it), else plain.
std::vector<std::uint8_t> kvns_of(TestCard& t, gp::HostSession* host = nullptr) {
  const auto r = host ? t.send_secure(*host, get_data_apdu(0xE0)) : t.send(get_data_apdu(0xE0));
  BOOST_REQUIRE(r.sw == 0x9000);
  const auto e0 = gp::parse_tlv(r.data);
  std::vector<std::uint8_t> out;
  for (const auto& c0 : e0.children)
    if (out.empty() || out.back() != c0.value.at(1)) out.push_back(c0.value.at(1));
  return out;
}

struct Format {
  CardSpec spec;
  gp::KeyType type;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(put_key)

BOOST_AUTO_TEST_CASE(add_then_replace_in_both_formats) {
  for (const Format f : {Format{{gp::Scp::Scp02, 0x55, 0x20}, gp::KeyType::Des2},
                         Format{{gp::Scp::Scp03, 0x70, 0x30}, gp::KeyType::Aes128},
                         Format{{gp::Scp::Scp03, 0x00, 0x30}, gp::KeyType::Aes256}}) {
    BOOST_TEST_CONTEXT(describe(f.spec) << " " << gp::key_type_name(f.type)) {
      TestCard t(f.spec);
      const std::uint8_t old_kvn = f.spec.kvn;
      const gp::StaticKeys old_keys = t.keys();

      // Add a key set (P1 00) as KVN 0x40.
      const gp::StaticKeys added = random_keys(f.type);
      {
        auto host = t.open(0x03);
        const auto pk = gp::PutKey::key_set(0x40, f.type, added);
        const auto r = t.send_secure(*host, pk.command(host->key_encryptor()));
        BOOST_TEST(r.sw == 0x9000);
        pk.check_response(r.data);  // KVN + the three KCVs
        BOOST_TEST(r.data.size() == 1u + 3u * 3u);
      }
      t.card().reset();
      BOOST_TEST(kvns_of(t) == (std::vector<std::uint8_t>{old_kvn, 0x40}));
      t.open(0x01, added, 0x40);          // the new key set works
      t.open(0x01, old_keys, old_kvn);    // and the old one still does
      t.open(0x01, old_keys, 0x00);       // 00 is still the personalised one

      // Replace the personalised key set (P1 = its KVN) by KVN 0x41.
      const gp::StaticKeys replacement = random_keys(f.type);
      {
        const bool r_mac = f.spec.scp == gp::Scp::Scp02 || (f.spec.i & 0x20) != 0;
        auto host = t.open(r_mac ? 0x13 : 0x03, old_keys, old_kvn);
        const auto pk = gp::PutKey::key_set(0x41, f.type, replacement, old_kvn);
        const auto r = t.send_secure(*host, pk.command(host->key_encryptor()));
        BOOST_TEST(r.sw == 0x9000);
        pk.check_response(r.data);
      }
      t.card().reset();
      BOOST_TEST(kvns_of(t) == (std::vector<std::uint8_t>{0x40, 0x41}));
      t.open(0x03, replacement, 0x41);
      t.open(0x03, replacement, 0x00);  // KVN 00 follows the replacement of the default key set
      // The old keys fail: their KVN is gone, and under the new KVN the card cryptogram does not verify.
      BOOST_CHECK_THROW(t.open(0x01, old_keys, old_kvn), gp::GpError);
      BOOST_CHECK_THROW(t.open(0x01, old_keys, 0x41), gp::GpError);
      BOOST_CHECK_THROW(t.open(0x01, added, 0x41), gp::GpError);
      // It persisted: the store holds what the card holds.
      const auto stored = t.store().load_all().front();
      BOOST_TEST(stored.default_kvn == 0x41);
      BOOST_TEST(stored.key_sets.size() == 2u);
      BOOST_TEST(gp::to_hex(gp::view(stored.key_sets.at(0x41).keys.mac)) == gp::to_hex(gp::view(replacement.mac)));
      // A key set that is put starts from zero; since then: SCP02 counts the 2 sessions opened,
      // SCP03 i=70 the 4 INITIALIZE UPDATEs (2 opened, 2 refused by the host), i=00 nothing.
      const std::uint32_t expected = f.spec.scp == gp::Scp::Scp02 ? 2 : (f.spec.i & 0x10) != 0 ? 4 : 0;
      BOOST_TEST(stored.key_sets.at(0x41).counter == expected);
    }
  }
}

BOOST_AUTO_TEST_CASE(refusals) {
  TestCard t(CardSpec{gp::Scp::Scp02, 0x15, 0x20});
  auto host = t.open(0x03);
  const gp::StaticKeys keys = random_keys(gp::KeyType::Des2);

  // A key check value that does not match the key: 6A80 (GP Table 11-72 says 9485; the
  // contract with sekds's TSM says 6A80).
  {
    gp::CommandApdu c = gp::PutKey::key_set(0x40, gp::KeyType::Des2, keys).command(host->key_encryptor());
    c.data.back() ^= 0x01;
    BOOST_TEST(t.send_secure(*host, c).sw == 0x6A80);
  }
  // AES keys on an SCP02 card: algorithm not supported.
  {
    const gp::StaticKeys aes = random_keys(gp::KeyType::Aes128);
    BOOST_TEST(t.send_secure(*host, gp::PutKey::key_set(0x40, gp::KeyType::Aes128, aes).command(host->key_encryptor())).sw ==
               0x9484);
  }
  // Replacing a key version the card does not hold.
  BOOST_TEST(t.send_secure(*host, gp::PutKey::key_set(0x40, gp::KeyType::Des2, keys, 0x33).command(host->key_encryptor())).sw ==
             0x6A88);
  // Adding a KVN that exists.
  BOOST_TEST(t.send_secure(*host, gp::PutKey::key_set(0x20, gp::KeyType::Des2, keys).command(host->key_encryptor())).sw ==
             0x6A80);
  // One key only (P2 01), and a chain (P1 b8).
  {
    gp::CommandApdu c = gp::PutKey::key_set(0x40, gp::KeyType::Des2, keys).command(host->key_encryptor());
    c.p2 = 0x01;
    BOOST_TEST(t.send_secure(*host, c).sw == 0x6A86);
    c.p2 = 0x81;
    c.p1 = 0x80;
    BOOST_TEST(t.send_secure(*host, c).sw == 0x6A86);
  }
  // Truncated key data.
  {
    gp::CommandApdu c = gp::PutKey::key_set(0x40, gp::KeyType::Des2, keys).command(host->key_encryptor());
    c.data.resize(c.data.size() - 5);
    BOOST_TEST(t.send_secure(*host, c).sw == 0x6A80);
  }
  BOOST_TEST(t.card().secure_channel_open());  // refusals do not end the session
  BOOST_TEST(kvns_of(t, host.get()) == std::vector<std::uint8_t>{0x20});

  // A key set that cannot be written: 6581, nothing changed.
  t.store().fail_next_write();
  BOOST_TEST(t.send_secure(*host, gp::PutKey::key_set(0x40, gp::KeyType::Des2, keys).command(host->key_encryptor())).sw == 0x6581);
  BOOST_TEST(kvns_of(t, host.get()) == std::vector<std::uint8_t>{0x20});

  // A full card: the limit on key sets.
  card::CardLimits limits;
  limits.max_key_sets = 2;
  TestCard small(CardSpec{gp::Scp::Scp03, 0x70, 0x30}, limits);
  auto h = small.open(0x01);
  BOOST_TEST(small.send_secure(*h, gp::PutKey::key_set(0x31, gp::KeyType::Aes128, random_keys(gp::KeyType::Aes128))
                                       .command(h->key_encryptor()))
                 .sw == 0x9000);
  BOOST_TEST(small.send_secure(*h, gp::PutKey::key_set(0x32, gp::KeyType::Aes128, random_keys(gp::KeyType::Aes128))
                                       .command(h->key_encryptor()))
                 .sw == 0x6A84);
}

BOOST_AUTO_TEST_SUITE_END()
