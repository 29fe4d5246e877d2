#include "service/request_validation.h"

#include <algorithm>

#include <fmt/format.h>
#include <openssl/evp.h>

#include "gp/error.h"

namespace sekds::service {
namespace {

Fault invalid(std::string what) { return Fault{FaultCode::InvalidArgument, std::move(what)}; }
Fault mismatch(std::string what) { return Fault{FaultCode::KeyInformationMismatch, std::move(what)}; }

std::string kvn_list(const std::vector<std::uint8_t>& kvns) {
  std::string s;
  for (std::uint8_t k : kvns) s += (s.empty() ? "" : ", ") + kvn_text(k);
  return s;
}

}  // namespace

std::string kvn_text(std::uint8_t kvn) { return fmt::format("{} ('{:02X}')", kvn, kvn); }

std::variant<CardRequest, Fault> parse_card_request(const GetKeysRequest& r) {
  if (auto f = validate(r)) return *f;  // lengths of every field, RequestId charset
  // Bare values only: SequenceCounter::parse would also take a tagged 'C1 01 xx', which is
  // not what the WSDL carries.
  gp::SequenceCounter counter(gp::read_be(gp::view(r.sequence_counter)), r.sequence_counter.size());

  gp::KeyInformation info;
  try {
    info = gp::KeyInformation::parse(gp::view(r.key_information));
  } catch (const gp::GpError& e) {
    return invalid(std::string("KeyInformation is not a key information template ('E0' / 'C0' objects): ") + e.what());
  }
  const std::vector<std::uint8_t> kvns = info.key_set_versions();
  if (kvns.empty()) return invalid("KeyInformation lists no keys");

  std::uint8_t kvn = 0;
  if (r.key_set_version) {
    kvn = *r.key_set_version;
    if (std::find(kvns.begin(), kvns.end(), kvn) == kvns.end())
      return mismatch("KeySetVersion " + kvn_text(kvn) + " is not in KeyInformation (it lists " + kvn_list(kvns) + ")");
  } else if (kvns.size() > 1) {
    return mismatch("KeySetVersion is required: KeyInformation lists " + std::to_string(kvns.size()) + " key sets (" +
                    kvn_list(kvns) + ")");
  } else {
    kvn = kvns.front();
  }

  gp::KeySetCheck check = info.check_key_set(kvn);
  if (!check.ok()) return mismatch("KeyInformation: " + check.detail);
  if (!check.info->has_enc_mac_dek())
    return mismatch("KeyInformation: key set version " + kvn_text(kvn) + " lacks key 1, 2 or 3 (ENC, MAC, DEK)");

  std::optional<std::string> iin_hex;
  if (r.iin) iin_hex = gp::to_hex(gp::view(*r.iin));
  return CardRequest{gp::Kdd(gp::view(r.kdd)), counter, std::move(info), kvn, std::move(*check.info), std::move(iin_hex)};
}

std::optional<Fault> check_card_against_key_set(const CardRequest& card, std::uint8_t scp, gp::KeyType card_key_type) {
  const std::size_t width = scp == 2 ? 2 : 3;
  if (card.counter.width() != width)
    return invalid(fmt::format("SequenceCounter has {} bytes (SCP0{}) but key set version {} is SCP0{} ({} bytes)",
                               card.counter.width(), card.counter.width() == 2 ? 2 : 3, kvn_text(card.kvn), scp, width));
  if (card.key_set.key_type != card_key_type)
    return mismatch(fmt::format("KeyInformation says key set version {} holds {} keys; the issuer's key set releases {} keys",
                                kvn_text(card.kvn), gp::key_type_name(card.key_set.key_type),
                                gp::key_type_name(card_key_type)));
  return std::nullopt;
}

std::string request_digest(const GetKeysRequest& r) {
  gp::Bytes canon;
  auto field = [&](std::uint8_t tag, const std::optional<gp::Bytes>& v) {
    canon.push_back(tag);
    if (!v) {
      canon.push_back(0);  // absent differs from empty
      return;
    }
    canon.push_back(1);
    gp::put_u16(canon, static_cast<std::uint16_t>(v->size()));
    canon.insert(canon.end(), v->begin(), v->end());
  };
  field(1, r.kdd);
  field(2, r.key_information);
  field(3, r.sequence_counter);
  field(4, gp::Bytes{static_cast<std::uint8_t>(r.kek_index >> 24), static_cast<std::uint8_t>(r.kek_index >> 16),
                     static_cast<std::uint8_t>(r.kek_index >> 8), static_cast<std::uint8_t>(r.kek_index)});
  field(5, r.key_set_version ? std::optional<gp::Bytes>(gp::Bytes{*r.key_set_version}) : std::nullopt);
  field(6, r.iin);
  field(7, r.cin);
  field(8, r.cplc);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(canon.data(), canon.size(), md, &n, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("SHA-256 failed");
  return gp::to_hex(gp::ByteView(md, n));
}

}  // namespace sekds::service
