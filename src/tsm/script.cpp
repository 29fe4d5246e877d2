#include "tsm/script.h"

#include <cctype>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>

#include "gp/error.h"
#include "gp/status_word.h"
#include "tsm/error.h"
#include "tsm/session.h"

namespace sekds::tsm {
namespace {

std::string trim(std::string_view s) {
  std::size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

std::vector<std::string> words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

gp::Bytes read_file_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + p.string());
  gp::Bytes b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Hex text (as some tools write load files) is decoded; anything else is taken as binary.
  bool hex = !b.empty();
  for (auto c : b)
    if (!std::isxdigit(c) && !std::isspace(c) && c != ':') {
      hex = false;
      break;
    }
  if (hex) {
    std::string s(b.begin(), b.end());
    std::string compact;
    for (char c : s)
      if (!std::isspace(static_cast<unsigned char>(c))) compact += c;
    return gp::from_hex(compact, p.string());
  }
  return b;
}

}  // namespace

SwPattern SwPattern::parse(std::string_view text) {
  if (text.size() != 4) throw TsmError(TsmErrc::Usage, "status word '" + std::string(text) + "' must be 4 hex digits (X: any)");
  SwPattern p;
  p.value = 0;
  p.mask = 0;
  for (char c : text) {
    p.value = static_cast<std::uint16_t>(p.value << 4);
    p.mask = static_cast<std::uint16_t>(p.mask << 4);
    if (c == 'x' || c == 'X') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c)))
      throw TsmError(TsmErrc::Usage, "status word '" + std::string(text) + "' must be 4 hex digits (X: any)");
    const int v = std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : std::tolower(c) - 'a' + 10;
    p.value = static_cast<std::uint16_t>(p.value | v);
    p.mask = static_cast<std::uint16_t>(p.mask | 0xF);
  }
  return p;
}

std::string SwPattern::text() const {
  std::string s;
  for (int shift = 12; shift >= 0; shift -= 4) {
    if (((mask >> shift) & 0xF) == 0) {
      s += 'X';
    } else {
      s += "0123456789ABCDEF"[(value >> shift) & 0xF];
    }
  }
  return s;
}

Script Script::parse(std::string_view text, const std::filesystem::path& base_dir, const std::string& name) {
  Script s;
  s.name = name;
  int line_no = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view raw = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    const auto hash = raw.find('#');
    const std::string line = trim(hash == std::string_view::npos ? raw : raw.substr(0, hash));
    if (line.empty()) {
      if (end == text.size()) break;
      continue;
    }
    const std::string where = name + ":" + std::to_string(line_no) + ": ";
    ScriptCommand c;
    c.line = line_no;
    c.text = line;
    // "APDU -> SW" may be written without spaces around the arrow.
    const auto arrow_at = line.find("->");
    const auto w = words(arrow_at == std::string::npos ? line : line.substr(0, arrow_at) + " -> " + line.substr(arrow_at + 2));
    const std::string& verb = w.front();
    auto need = [&](std::size_t n, const char* usage) {
      if (w.size() != n + 1) throw TsmError(TsmErrc::Usage, where + "usage: " + usage);
    };
    auto aid = [&](const std::string& text_aid, const char* what) {
      gp::Bytes a;
      try {
        a = gp::from_hex(text_aid, what);
      } catch (const gp::GpError& e) {
        throw TsmError(TsmErrc::Usage, where + e.what());
      }
      if (a.size() < 5 || a.size() > 16)
        throw TsmError(TsmErrc::Usage, where + what + " must be 5 to 16 bytes, got " + std::to_string(a.size()));
      return a;
    };
    try {
      if (verb == "get-status") {
        need(0, "get-status");
        c.kind = ScriptCommand::Kind::GetStatus;
      } else if (verb == "load") {
        need(1, "load FILE");
        c.kind = ScriptCommand::Kind::Load;
        c.file = std::filesystem::path(w[1]).is_absolute() ? std::filesystem::path(w[1]) : base_dir / w[1];
        try {
          c.load_file = read_file_bytes(c.file);
        } catch (const std::exception& e) {
          throw TsmError(TsmErrc::Usage, where + "load: " + e.what());
        }
        try {
          package_aid_of(c.load_file);
        } catch (const gp::GpError& e) {
          throw TsmError(TsmErrc::Usage, where + c.file.string() + ": " + e.what());
        }
      } else if (verb == "install") {
        need(3, "install PACKAGE APPLET INSTANCE");
        c.kind = ScriptCommand::Kind::Install;
        c.aid1 = aid(w[1], "PACKAGE");
        c.aid2 = aid(w[2], "APPLET");
        c.aid3 = aid(w[3], "INSTANCE");
      } else if (verb == "delete") {
        if (w.size() != 2 && !(w.size() == 3 && w[2] == "related"))
          throw TsmError(TsmErrc::Usage, where + "usage: delete AID [related]");
        c.kind = ScriptCommand::Kind::Delete;
        c.aid1 = aid(w[1], "AID");
        c.related = w.size() == 3;
      } else if (verb == "store-data") {
        if (w.size() < 2) throw TsmError(TsmErrc::Usage, where + "usage: store-data HEX");
        c.kind = ScriptCommand::Kind::StoreData;
        c.data = gp::from_hex(line.substr(verb.size()), "store-data");
        if (c.data.empty()) throw TsmError(TsmErrc::Usage, where + "store-data needs data");
      } else {
        c.kind = ScriptCommand::Kind::Apdu;
        std::string hex = line;
        const auto arrow = line.find("->");
        if (arrow != std::string::npos) {
          hex = trim(line.substr(0, arrow));
          c.expect = SwPattern::parse(trim(line.substr(arrow + 2)));
        }
        bool is_hex_word = true;
        for (char ch : verb)
          if (!std::isxdigit(static_cast<unsigned char>(ch)) && ch != ':') is_hex_word = false;
        if (!is_hex_word && verb != "->")
          throw TsmError(TsmErrc::Usage, where + "unknown command '" + verb +
                                             "' (get-status, load, install, delete, store-data, or an APDU in hex)");
        c.apdu = gp::CommandApdu::parse(gp::from_hex(hex, "APDU"));
      }
    } catch (const TsmError& e) {
      if (std::string(e.what()).rfind(where, 0) == 0) throw;
      throw TsmError(TsmErrc::Usage, where + e.what());
    } catch (const gp::GpError& e) {
      throw TsmError(TsmErrc::Usage, where + e.what());
    }
    s.commands.push_back(std::move(c));
    if (end == text.size()) break;
  }
  return s;
}

Script Script::load(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw TsmError(TsmErrc::Usage, file.string() + ": cannot read the script");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return parse(text, file.parent_path().empty() ? std::filesystem::path(".") : file.parent_path(), file.string());
}

std::vector<ScriptResult> run_script(Session& session, const Script& script) {
  std::vector<ScriptResult> out;
  for (const ScriptCommand& c : script.commands) {
    const std::string where = script.name + ":" + std::to_string(c.line);
    const auto t0 = std::chrono::steady_clock::now();
    ScriptResult r;
    r.line = c.line;
    r.text = c.text;
    translate_errors(where, [&] {
      switch (c.kind) {
        case ScriptCommand::Kind::Apdu: {
          const gp::ResponseApdu resp = session.send(c.apdu);
          r.sw = resp.sw;
          r.data = resp.data;
          if (!c.expect.matches(resp.sw))
            throw TsmError(TsmErrc::CardStatus, "expected " + c.expect.text() + ", the card answered " + gp::sw_describe(resp.sw),
                           gp::sw_name(resp.sw));
          break;
        }
        case ScriptCommand::Kind::GetStatus:
          for (RegistryKind k : {RegistryKind::IssuerSecurityDomain, RegistryKind::Applications, RegistryKind::LoadFiles}) {
            auto e = session.get_status(k);
            r.registry.insert(r.registry.end(), e.begin(), e.end());
          }
          r.detail = std::to_string(r.registry.size()) + " registry entries";
          break;
        case ScriptCommand::Kind::Load: {
          const auto res = session.load(c.load_file);
          r.detail = "package " + gp::to_hex(res.package_aid) + ", " + std::to_string(res.bytes) + " bytes in " +
                     std::to_string(res.blocks) + " LOAD blocks";
          break;
        }
        case ScriptCommand::Kind::Install:
          session.install(c.aid1, c.aid2, c.aid3);
          r.detail = "instance " + gp::to_hex(c.aid3) + " selectable";
          break;
        case ScriptCommand::Kind::Delete:
          session.delete_aid(c.aid1, c.related);
          break;
        case ScriptCommand::Kind::StoreData: {
          const std::size_t n = session.store_data(c.data);
          r.detail = std::to_string(c.data.size()) + " bytes in " + std::to_string(n) + " blocks";
          break;
        }
      }
    });
    r.duration = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0);
    out.push_back(std::move(r));
  }
  return out;
}

nlohmann::ordered_json script_results_json(const std::vector<ScriptResult>& results) {
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  for (const auto& r : results) {
    nlohmann::ordered_json j;
    j["line"] = r.line;
    j["command"] = r.text;
    char sw[8];
    std::snprintf(sw, sizeof sw, "%04X", r.sw);
    j["sw"] = sw;
    if (!r.data.empty()) j["data"] = gp::to_hex(r.data);
    if (!r.registry.empty()) j["registry"] = registry_json(r.registry);
    if (!r.detail.empty()) j["detail"] = r.detail;
    j["duration_us"] = r.duration.count();
    a.push_back(j);
  }
  return a;
}

}  // namespace sekds::tsm
