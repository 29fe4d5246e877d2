#include "tsm/card_info.h"

#include <ostream>

#include "gp/error.h"
#include "gp/status_word.h"
#include "tsm/error.h"

namespace sekds::tsm {
namespace {

constexpr std::uint8_t kInsGetData = 0xCA;
constexpr std::uint8_t kInsSelect = 0xA4;

// GET DATA (80 CA P1 P2 00). nullopt for 6A88 when the tag is optional.
std::optional<gp::Bytes> get_data(CardTransport& t, gp::Tag tag, bool required) {
  gp::CommandApdu cmd(gp::kClaGp, kInsGetData, static_cast<std::uint8_t>(tag >> 8), static_cast<std::uint8_t>(tag), {},
                      256);
  const gp::ResponseApdu r = transmit_apdu(t, cmd);
  const std::string what = "GET DATA '" + gp::tag_hex(tag) + "'";
  if (!required && (r.sw == gp::kSwReferencedDataNotFound || r.sw == gp::kSwFileNotFound)) return std::nullopt;
  if (r.sw != gp::kSwNoError) {
    gp::StatusWordError e(r.sw, what);
    throw TsmError(TsmErrc::CardStatus, t.describe() + ": " + e.what(), e.name());
  }
  return r.data;
}

template <class F>
auto parse_object(const CardTransport& t, gp::Tag tag, F&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const gp::GpError& e) {
    throw TsmError(TsmErrc::CardData, t.describe() + ": GET DATA '" + gp::tag_hex(tag) + "': " + e.what(), e.name());
  }
}

std::string scp_text(const gp::ScpOption& o) {
  char b[32];
  std::snprintf(b, sizeof b, "SCP%02X i=%02X", o.scp, o.i);
  return b;
}

}  // namespace

std::optional<gp::ScpOption> CardInfo::scp_option() const {
  if (!card_recognition || card_recognition->scps.empty()) return std::nullopt;
  return card_recognition->scps.front();
}

gp::Scp CardInfo::scp() const {
  if (auto o = scp_option()) {
    if (o->scp == 0x02) return gp::Scp::Scp02;
    if (o->scp == 0x03) return gp::Scp::Scp03;
  }
  return sequence_counter.is_scp02() ? gp::Scp::Scp02 : gp::Scp::Scp03;
}

gp::Bytes select_aid(CardTransport& t, gp::ByteView aid) {
  gp::CommandApdu cmd(0x00, kInsSelect, 0x04, 0x00, gp::to_bytes(aid), 256);
  const gp::ResponseApdu r = transmit_apdu(t, cmd);
  if (r.sw != gp::kSwNoError) {
    gp::StatusWordError e(r.sw, "SELECT " + gp::to_hex(aid));
    throw TsmError(TsmErrc::CardStatus, t.describe() + ": " + e.what(), e.name());
  }
  return r.data;
}

CardInfo discover_card(CardTransport& t, const DiscoverOptions& options) {
  CardInfo info;
  info.card = t.describe();
  if (options.reset) info.atr = t.reset();
  select_aid(t, kIsdAid);
  info.isd_aid = kIsdAid;

  // The URL first: it names the TTP the rest of the data is for.
  if (auto d = get_data(t, gp::kTagSdManagerUrl, false))
    info.url = parse_object(t, gp::kTagSdManagerUrl, [&] { return gp::SdManagerUrl::parse(*d); });
  const gp::Bytes kdd = *get_data(t, gp::kTagKdd, true);
  info.kdd = parse_object(t, gp::kTagKdd, [&] { return gp::Kdd::parse(kdd); });
  const gp::Bytes e0 = *get_data(t, gp::kTagKeyInformationTemplate, true);
  info.key_information = parse_object(t, gp::kTagKeyInformationTemplate, [&] { return gp::KeyInformation::parse(e0); });
  info.key_information_template =
      !e0.empty() && e0.front() == 0xE0 ? e0 : gp::encode_tlv(gp::kTagKeyInformationTemplate, e0);
  const gp::Bytes c1 = *get_data(t, gp::kTagSequenceCounter, true);
  info.sequence_counter = parse_object(t, gp::kTagSequenceCounter, [&] { return gp::SequenceCounter::parse(c1); });
  if (auto d = get_data(t, gp::kTagIin, false))
    info.iin = parse_object(t, gp::kTagIin, [&] { return gp::IssuerIdentificationNumber::parse(*d); });
  if (auto d = get_data(t, gp::kTagCin, false))
    info.cin = parse_object(t, gp::kTagCin, [&] { return gp::CardImageNumber::parse(*d); });
  if (auto d = get_data(t, gp::kTagCardData, false))
    info.card_recognition = parse_object(t, gp::kTagCardData, [&] { return gp::CardRecognitionData::parse(*d); });
  if (auto d = get_data(t, gp::kTagCplc, false))
    info.cplc = parse_object(t, gp::kTagCplc, [&] { return gp::Cplc::parse(*d); });
  return info;
}

nlohmann::ordered_json card_info_json(const CardInfo& info) {
  nlohmann::ordered_json j;
  j["url"] = info.url ? nlohmann::ordered_json(info.url->str()) : nlohmann::ordered_json(nullptr);
  j["card"] = info.card;
  if (!info.atr.empty()) j["atr"] = gp::to_hex(info.atr);
  j["isd_aid"] = gp::to_hex(info.isd_aid);
  j["kdd"] = info.kdd.hex();
  j["scp"] = gp::scp_name(info.scp());
  if (auto o = info.scp_option()) j["i"] = gp::to_hex(gp::Bytes{o->i});
  j["sequence_counter"] = info.sequence_counter.value();
  j["sequence_counter_hex"] = gp::to_hex(info.sequence_counter.value_bytes());
  nlohmann::ordered_json sets = nlohmann::ordered_json::array();
  for (std::uint8_t kvn : info.key_information.key_set_versions()) {
    nlohmann::ordered_json s;
    s["kvn"] = kvn;
    const gp::KeySetCheck c = info.key_information.check_key_set(kvn);
    if (c.ok()) {
      s["key_type"] = gp::key_type_name(c.info->key_type);
      s["key_ids"] = c.info->key_ids;
    } else {
      s["problem"] = gp::key_set_problem_name(c.problem);
      s["detail"] = c.detail;
    }
    sets.push_back(s);
  }
  j["key_sets"] = sets;
  j["key_information"] = gp::to_hex(info.key_information_template);
  j["iin"] = info.iin ? nlohmann::ordered_json(gp::to_hex(info.iin->value)) : nlohmann::ordered_json(nullptr);
  j["cin"] = info.cin ? nlohmann::ordered_json(gp::to_hex(info.cin->value)) : nlohmann::ordered_json(nullptr);
  if (info.card_recognition) {
    nlohmann::ordered_json cr;
    cr["gp_version"] = info.card_recognition->gp_version_string();
    nlohmann::ordered_json scps = nlohmann::ordered_json::array();
    for (const auto& o : info.card_recognition->scps) scps.push_back({{"scp", o.scp}, {"i", gp::to_hex(gp::Bytes{o.i})}});
    cr["scps"] = scps;
    j["card_recognition"] = cr;
  } else {
    j["card_recognition"] = nullptr;
  }
  if (info.cplc) {
    nlohmann::ordered_json c;
    for (const auto& f : gp::Cplc::fields()) c[f.name] = gp::to_hex(info.cplc->field(f.field));
    j["cplc"] = c;
  } else {
    j["cplc"] = nullptr;
  }
  return j;
}

void print_card_info(const CardInfo& info, std::ostream& out) {
  out << "TTP URL           " << (info.url ? info.url->str() : std::string("(absent: the card names no TTP)")) << '\n';
  out << "card              " << info.card << '\n';
  if (!info.atr.empty()) out << "ATR               " << gp::to_hex(info.atr) << '\n';
  out << "ISD               " << gp::to_hex(info.isd_aid) << '\n';
  out << "KDD               " << info.kdd.hex() << '\n';
  out << "protocol          ";
  if (auto o = info.scp_option())
    out << scp_text(*o);
  else
    out << gp::scp_name(info.scp()) << " (no card recognition data: from the counter width)";
  out << '\n';
  out << "sequence counter  " << info.sequence_counter.value() << " (" << gp::to_hex(info.sequence_counter.value_bytes())
      << ")\n";
  for (std::uint8_t kvn : info.key_information.key_set_versions()) {
    const gp::KeySetCheck c = info.key_information.check_key_set(kvn);
    char b[8];
    std::snprintf(b, sizeof b, "%02X", kvn);
    out << "key set           KVN " << b << " (" << unsigned(kvn) << "): ";
    if (c.ok()) {
      out << gp::key_type_name(c.info->key_type) << ", key ids";
      for (auto id : c.info->key_ids) out << ' ' << unsigned(id);
    } else {
      out << gp::key_set_problem_name(c.problem) << ": " << c.detail;
    }
    out << '\n';
  }
  out << "IIN               " << (info.iin ? gp::to_hex(info.iin->value) : std::string("(absent)")) << '\n';
  out << "CIN               " << (info.cin ? gp::to_hex(info.cin->value) : std::string("(absent)")) << '\n';
  if (info.card_recognition && !info.card_recognition->gp_version.empty())
    out << "GP version        " << info.card_recognition->gp_version_string() << '\n';
  if (info.cplc) {
    out << "CPLC              " << gp::to_hex(info.cplc->value()) << '\n';
    out << "  IC serial       " << gp::to_hex(info.cplc->field(gp::CplcField::IcSerialNumber)) << '\n';
  } else {
    out << "CPLC              (absent)\n";
  }
}

}  // namespace sekds::tsm
