#include "hsm/token_selector.h"

#include <cctype>

#include "hsm/error.h"

namespace sekds::hsm {
namespace {

[[noreturn]] void bad(const std::string& what) { throw HsmError(HsmErrc::BadUri, "pkcs11 URI: " + what); }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view v, std::string_view attr) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '%') {
      if (i + 2 >= v.size()) bad("truncated %-escape in '" + std::string(attr) + "'");
      int hi = hex_value(v[i + 1]), lo = hex_value(v[i + 2]);
      if (hi < 0 || lo < 0) bad("invalid %-escape in '" + std::string(attr) + "'");
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (static_cast<unsigned char>(v[i]) < 0x21 || v[i] == 0x7F) {
      bad("attribute '" + std::string(attr) + "' contains a space or control character (percent-encode it)");
    } else {
      out.push_back(v[i]);
    }
  }
  return out;
}

CK_SLOT_ID parse_slot_id(const std::string& v) {
  if (v.empty() || v.size() > 20) bad("slot-id must be a decimal number");
  CK_SLOT_ID id = 0;
  for (char c : v) {
    if (!std::isdigit(static_cast<unsigned char>(c))) bad("slot-id must be a decimal number, got '" + v + "'");
    CK_SLOT_ID next = id * 10 + static_cast<CK_SLOT_ID>(c - '0');
    if (next / 10 != id) bad("slot-id out of range");
    id = next;
  }
  return id;
}

}  // namespace

std::string token_field(const unsigned char* field, std::size_t width) {
  std::size_t n = width;
  while (n > 0 && (field[n - 1] == ' ' || field[n - 1] == '\0')) --n;
  return std::string(reinterpret_cast<const char*>(field), n);
}

TokenSelector TokenSelector::parse(std::string_view spec) {
  TokenSelector s;
  if (spec.rfind("pkcs11:", 0) != 0) {
    if (spec.empty()) throw HsmError(HsmErrc::BadUri, "token: empty label (give a label or a pkcs11: URI)");
    if (spec.size() > 32) throw HsmError(HsmErrc::BadUri, "token label longer than 32 characters: '" + std::string(spec) + "'");
    s.label = std::string(spec);
    return s;
  }
  std::string_view rest = spec.substr(7);
  if (auto q = rest.find('?'); q != std::string_view::npos)
    bad("query attributes ('" + std::string(rest.substr(q + 1)) +
        "') are not accepted: the PIN comes from the PIN source and the module from the configuration");
  if (rest.find('#') != std::string_view::npos) bad("fragment '#' not allowed");
  std::size_t pos = 0;
  while (pos < rest.size()) {
    std::size_t semi = rest.find(';', pos);
    if (semi == std::string_view::npos) semi = rest.size();
    std::string_view part = rest.substr(pos, semi - pos);
    pos = semi + 1;
    if (part.empty()) continue;
    std::size_t eq = part.find('=');
    if (eq == std::string_view::npos) bad("attribute '" + std::string(part) + "' has no '='");
    std::string_view name = part.substr(0, eq);
    std::string value = percent_decode(part.substr(eq + 1), name);
    auto set = [&](std::optional<std::string>& field) {
      if (field) bad("attribute '" + std::string(name) + "' given twice");
      field = value;
    };
    if (name == "token") {
      set(s.label);
    } else if (name == "manufacturer") {
      set(s.manufacturer);
    } else if (name == "serial") {
      set(s.serial);
    } else if (name == "model") {
      set(s.model);
    } else if (name == "slot-id") {
      if (s.slot_id) bad("attribute 'slot-id' given twice");
      s.slot_id = parse_slot_id(value);
    } else {
      bad("attribute '" + std::string(name) +
          "' is not supported for choosing a token (use token, manufacturer, serial, model or slot-id)");
    }
  }
  if (!s.label && !s.manufacturer && !s.serial && !s.model && !s.slot_id)
    bad("'" + std::string(spec) + "' selects no token (give at least token= or serial=)");
  return s;
}

bool TokenSelector::matches(CK_SLOT_ID slot, const CK_TOKEN_INFO& info) const {
  if (slot_id && *slot_id != slot) return false;
  if (label && *label != token_field(info.label, sizeof info.label)) return false;
  if (manufacturer && *manufacturer != token_field(info.manufacturerID, sizeof info.manufacturerID)) return false;
  if (model && *model != token_field(info.model, sizeof info.model)) return false;
  if (serial && *serial != token_field(info.serialNumber, sizeof info.serialNumber)) return false;
  return true;
}

std::string TokenSelector::describe() const {
  if (label && !manufacturer && !serial && !model && !slot_id) return "token label '" + *label + "'";
  std::string out = "pkcs11:";
  auto add = [&](const char* n, const std::string& v) {
    if (out.size() > 7) out += ';';
    out += n;
    out += '=';
    out += v;
  };
  if (label) add("token", *label);
  if (manufacturer) add("manufacturer", *manufacturer);
  if (serial) add("serial", *serial);
  if (model) add("model", *model);
  if (slot_id) add("slot-id", std::to_string(*slot_id));
  return out;
}

}  // namespace sekds::hsm
