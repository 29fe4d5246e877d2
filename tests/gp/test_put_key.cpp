// PUT KEY: the data field against independent known answers (computed with python3-cryptography
// from the GP / Amd D layout), host -> card through open SCP02 and SCP03 channels, and the
// card's checks (KCV, lengths, types).
#include <boost/test/unit_test.hpp>

#include "gp/error.h"
#include "gp/kcv.h"
#include "gp/put_key.h"
#include "gp/scp02.h"
#include "gp/scp03.h"

using namespace sekds;
using gp::Bytes;
using gp::to_hex;

namespace {

auto has_code(gp::Errc c) {
  return [c](const gp::GpError& e) { return e.code() == c; };
}

gp::StaticKeys keys_from(const char* enc, const char* mac, const char* dek) {
  return {gp::secure_from_hex(enc), gp::secure_from_hex(mac), gp::secure_from_hex(dek)};
}

gp::StaticKeys random_keys(std::size_t len) {
  return {gp::random_secure(len), gp::random_secure(len), gp::random_secure(len)};
}

// Host and card with an open channel between them.
struct Channel {
  std::unique_ptr<gp::HostSession> host;
  std::unique_ptr<gp::CardSession> card;

  void open(gp::SecurityLevel level) {
    gp::open_secure_channel(*host, [this](gp::ByteView raw) { return deliver(raw); }, 0x00, level);
  }
  Bytes deliver(gp::ByteView raw) {
    const auto cmd = gp::CommandApdu::parse(raw);
    if (cmd.ins == gp::kInsInitializeUpdate) return card->initialize_update(cmd).response.encode();
    return card->external_authenticate(cmd).response.encode();
  }
};

Channel scp02_channel(const gp::StaticKeys& keys) {
  gp::Scp02CardOptions opt;
  opt.i = 0x55;
  opt.kvn = 0x20;
  opt.kdd = Bytes(10, 0x42);
  opt.sequence_counter = 7;
  opt.aid = gp::from_hex("A000000151000000");
  return {std::make_unique<gp::Scp02Host>(keys), std::make_unique<gp::Scp02Card>(keys, opt)};
}

Channel scp03_channel(const gp::StaticKeys& keys) {
  gp::Scp03CardOptions opt;
  opt.i = 0x70;
  opt.kvn = 0x30;
  opt.kdd = Bytes(10, 0x42);
  opt.sequence_counter = 7;
  opt.aid = gp::from_hex("A000000151000000");
  return {std::make_unique<gp::Scp03Host>(keys), std::make_unique<gp::Scp03Card>(keys, opt)};
}

// Sends `put` from host to card, lets the card parse it, and checks the card's answer on the host.
gp::PutKey deliver(Channel& ch, const gp::PutKey& put) {
  const Bytes wrapped = ch.host->wrap(put.command(ch.host->key_encryptor()));
  const auto plain = ch.card->unwrap(wrapped);
  BOOST_TEST(plain.ins == gp::kInsPutKey);
  const auto parsed = gp::PutKey::parse(plain, ch.card->key_encryptor());
  const auto resp = ch.host->unwrap(ch.card->wrap(gp::ResponseApdu{parsed.response_data(), 0x9000}).encode());
  BOOST_TEST(resp.sw == 0x9000);
  put.check_response(resp.data);
  return parsed;
}

void same_keys(const gp::PutKey& got, const gp::PutKey& want) {
  BOOST_TEST(got.new_kvn == want.new_kvn);
  BOOST_TEST(got.replaced_kvn == want.replaced_kvn);
  BOOST_TEST(got.first_key_id == want.first_key_id);
  BOOST_REQUIRE_EQUAL(got.keys.size(), want.keys.size());
  for (std::size_t i = 0; i < got.keys.size(); ++i) {
    BOOST_TEST(std::string(gp::key_type_name(got.keys[i].type)) == gp::key_type_name(want.keys[i].type));
    BOOST_TEST(to_hex(gp::view(got.keys[i].value)) == to_hex(gp::view(want.keys[i].value)));
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(put_key)

// AES format (Amd D): 88 | 1+n | key length | AES-CBC(static DEK, IV 0, key padded with 00) | 03 | KCV.
BOOST_AUTO_TEST_CASE(aes_key_set_data_field_known_answers) {
  const gp::Scp03KeyEncryptor enc(gp::secure_from_hex("202122232425262728292a2b2c2d2e2f"));
  const auto set128 = gp::PutKey::key_set(
      0x31, gp::KeyType::Aes128,
      keys_from("4142434445464748494a4b4c4d4e4f50", "5152535455565758595a5b5c5d5e5f60", "6162636465666768696a6b6c6d6e6f70"));
  const auto cmd = set128.command(enc);
  BOOST_TEST(cmd.cla == 0x80);
  BOOST_TEST(cmd.ins == 0xD8);
  BOOST_TEST(cmd.p1 == 0x00);  // add a new key set
  BOOST_TEST(cmd.p2 == 0x81);  // several keys, from key id 1
  BOOST_TEST(to_hex(cmd.data) ==
             "318811106D16022CDF1F304BB67AC2FA796A3D9F03A80CAD881110E42706B46A9EA530C62A48143C06EB5503932D998811103FF29667"
             "50C530E94BC7C34D850AF5790351F3CC");

  gp::StaticKeys k192;
  for (auto [key, from] : {std::pair{&k192.enc, 0x10}, std::pair{&k192.mac, 0x30}, std::pair{&k192.dek, 0x50}})
    for (int b = 0; b < 24; ++b) key->push_back(static_cast<std::uint8_t>(from + b));
  const auto set192 = gp::PutKey::key_set(0x32, gp::KeyType::Aes192, k192, 0x31);
  const auto cmd192 = set192.command(enc);
  BOOST_TEST(cmd192.p1 == 0x31);  // replace key set 31
  BOOST_TEST(to_hex(cmd192.data) ==
             "32882118771098A6B78CB45C029CF1C0DDEE0F1B620ED5F29BB6202F96FCC6A301057F4E0393DA9E882118A7ADEEAECCA54889B862"
             "1BEC185270440376A4491555531A3ADFB503052D19410388B446882118B05159C3643927E54547E8A14721D1EBD8D979AACF89A765"
             "7719082BE6644D39032A20BF");
  same_keys(gp::PutKey::parse(cmd192, enc), set192);
}

// DES format: 80 | 10 | 3DES-ECB(session DEK, key) | 03 | KCV, session DEK from static DEK and counter 0001.
BOOST_AUTO_TEST_CASE(des_key_set_data_field_known_answer) {
  const gp::Scp02KeyEncryptor enc(gp::scp02_session_key(gp::from_hex("404142434445464748494A4B4C4D4E4F"),
                                                        gp::kScp02ConstDek, 0x0001));
  const auto set = gp::PutKey::key_set(
      0x21, gp::KeyType::Des2,
      keys_from("11111111111111112222222222222222", "33333333333333334444444444444444", "55555555555555556666666666666666"));
  const auto cmd = set.command(enc);
  BOOST_TEST(to_hex(cmd.data) ==
             "218010FF72582C9C3E874A112A29C3F54917D703D2B91C80105C9661965B8D19E31AB094EB046AD2C103E18DE28010E7FE98968DC847"
             "666200543D76FD404B03DDB736");
  same_keys(gp::PutKey::parse(cmd, enc), set);
}

BOOST_AUTO_TEST_CASE(key_sets_cross_an_open_scp02_channel) {
  auto ch = scp02_channel(random_keys(16));
  ch.open(gp::SecurityLevel(0x03));
  const auto des = gp::PutKey::key_set(0x21, gp::KeyType::Des2, random_keys(16), 0x20);
  const auto parsed = deliver(ch, des);
  same_keys(parsed, des);
  const auto keys = parsed.static_keys();
  BOOST_TEST(to_hex(gp::view(keys.dek)) == to_hex(gp::view(des.keys[2].value)));
  // An AES key set can be sent over SCP02 too (length-prefixed, 3DES-ECB).
  const auto aes = gp::PutKey::key_set(0x30, gp::KeyType::Aes128, random_keys(16));
  same_keys(deliver(ch, aes), aes);
}

BOOST_AUTO_TEST_CASE(key_sets_cross_an_open_scp03_channel) {
  for (std::size_t len : {16u, 24u, 32u}) {
    BOOST_TEST_CONTEXT("AES-" << len * 8) {
      auto ch = scp03_channel(random_keys(len));
      ch.open(gp::SecurityLevel(0x33));
      const auto type = *gp::aes_type_for_length(len);
      const auto set = gp::PutKey::key_set(0x31, type, random_keys(len), 0x30);
      same_keys(deliver(ch, set), set);
      // A DES key set as well: 16-byte keys fill whole AES blocks.
      const auto des = gp::PutKey::key_set(0x20, gp::KeyType::Des2, random_keys(16));
      same_keys(deliver(ch, des), des);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_wrong_kcv_is_rejected_by_the_card) {
  const gp::Scp03KeyEncryptor enc(gp::random_secure(16));
  const auto set = gp::PutKey::key_set(0x31, gp::KeyType::Aes128, random_keys(16));
  const auto cmd = set.command(enc);
  // Each key entry is 23 bytes: type, length, 17-byte block, 03, KCV. First KCV at 21, second at 44.
  const std::size_t second_kcv = 1 + 23 + 2 + 17 + 1;
  for (std::size_t pos : {std::size_t{1 + 2 + 17 + 1}, second_kcv, cmd.data.size() - 1}) {
    auto bad = cmd;
    bad.data[pos] ^= 0x01;
    BOOST_CHECK_EXCEPTION(gp::PutKey::parse(bad, enc), gp::GpError, has_code(gp::Errc::KcvMismatch));
  }
  // A flipped bit in an encrypted key decrypts to another key: its KCV no longer matches.
  auto bad_key = cmd;
  bad_key.data[5] ^= 0x80;
  BOOST_CHECK_EXCEPTION(gp::PutKey::parse(bad_key, enc), gp::GpError, has_code(gp::Errc::KcvMismatch));
  // Decrypted under another DEK.
  BOOST_CHECK_EXCEPTION(gp::PutKey::parse(cmd, gp::Scp03KeyEncryptor(gp::random_secure(16))), gp::GpError,
                        has_code(gp::Errc::KcvMismatch));
}

BOOST_AUTO_TEST_CASE(the_host_checks_the_kcvs_the_card_reports) {
  const auto set = gp::PutKey::key_set(0x31, gp::KeyType::Aes256, random_keys(32));
  Bytes resp = set.response_data();
  BOOST_TEST(resp.size() == 1u + 3 * 3);
  BOOST_TEST(resp[0] == 0x31);
  BOOST_CHECK_NO_THROW(set.check_response(resp));
  resp[4] ^= 0x01;
  BOOST_CHECK_EXCEPTION(set.check_response(resp), gp::GpError, has_code(gp::Errc::KcvMismatch));
  BOOST_CHECK_EXCEPTION(set.check_response(Bytes(resp.begin(), resp.end() - 1)), gp::GpError,
                        has_code(gp::Errc::InvalidLength));
}

BOOST_AUTO_TEST_CASE(malformed_put_key_data_is_named) {
  const gp::Scp02KeyEncryptor enc(gp::random_secure(16));
  const auto cmd = gp::PutKey::key_set(0x21, gp::KeyType::Des2, random_keys(16)).command(enc);
  auto truncated = cmd;
  truncated.data.resize(cmd.data.size() - 2);
  BOOST_CHECK_EXCEPTION(gp::PutKey::parse(truncated, enc), gp::GpError, has_code(gp::Errc::ApduMalformed));
  auto unknown_type = cmd;
  unknown_type.data[1] = 0xA1;
  BOOST_CHECK_EXCEPTION(gp::PutKey::parse(unknown_type, enc), gp::GpError, has_code(gp::Errc::Unsupported));
  auto no_kcv = cmd;
  no_kcv.data[1 + 2 + 16] = 0x00;
  BOOST_CHECK_EXCEPTION(gp::PutKey::parse(no_kcv, enc), gp::GpError, has_code(gp::Errc::InvalidArgument));
  auto kvn0 = cmd;
  kvn0.data[0] = 0x00;
  BOOST_CHECK_EXCEPTION(gp::PutKey::parse(kvn0, enc), gp::GpError, has_code(gp::Errc::InvalidArgument));

  auto wrong_len = gp::PutKey::key_set(0x21, gp::KeyType::Aes128, random_keys(24));
  BOOST_CHECK_EXCEPTION(wrong_len.command(enc), gp::GpError, has_code(gp::Errc::InvalidLength));
  auto bad_kvn = gp::PutKey::key_set(0x80, gp::KeyType::Des2, random_keys(16));
  BOOST_CHECK_EXCEPTION(bad_kvn.command(enc), gp::GpError, has_code(gp::Errc::InvalidArgument));
  // A 24-byte DES key is not a whole number of AES blocks.
  auto des3 = gp::PutKey::key_set(0x21, gp::KeyType::Des3, random_keys(24));
  BOOST_CHECK_EXCEPTION(des3.command(gp::Scp03KeyEncryptor(gp::random_secure(16))), gp::GpError,
                        has_code(gp::Errc::Unsupported));
}

BOOST_AUTO_TEST_CASE(put_key_needs_an_open_channel) {
  gp::Scp02Host host(random_keys(16));
  BOOST_CHECK_EXCEPTION(host.key_encryptor(), gp::GpError, has_code(gp::Errc::SecurityNotSatisfied));
  gp::Scp03Host host3(random_keys(16));
  BOOST_CHECK_EXCEPTION(host3.key_encryptor(), gp::GpError, has_code(gp::Errc::SecurityNotSatisfied));
}

BOOST_AUTO_TEST_SUITE_END()
