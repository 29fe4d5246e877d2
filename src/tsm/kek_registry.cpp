#include "tsm/kek_registry.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>

#include "gp/error.h"
#include "tsm/error.h"

namespace sekds::tsm {

std::string tsm_kek_label(std::uint32_t index) { return "sekds-tsm/kek/" + std::to_string(index); }

std::string utc_now_rfc3339() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char b[32];
  std::strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return b;
}

KekRegistry KekRegistry::load(const std::filesystem::path& file) {
  KekRegistry r;
  r.file_ = file;
  std::ifstream in(file);
  if (!in) {
    if (!std::filesystem::exists(file)) return r;
    throw TsmError(TsmErrc::Config, file.string() + ": cannot read the KEK state file");
  }
  try {
    nlohmann::json j = nlohmann::json::parse(in);
    for (const auto& k : j.at("keks")) {
      KekRecord rec;
      rec.index = k.at("index").get<std::uint32_t>();
      rec.label = k.at("label").get<std::string>();
      rec.algorithm = k.at("algorithm").get<std::string>();
      rec.kcv = gp::from_hex(k.at("kcv").get<std::string>(), "kcv");
      rec.tsm = k.value("tsm", "");
      rec.imported_at = k.value("imported_at", "");
      if (rec.kcv.size() != 3) throw std::runtime_error("KEK " + std::to_string(rec.index) + ": kcv must be 3 bytes");
      if (r.find(rec.index)) throw std::runtime_error("KEK index " + std::to_string(rec.index) + " listed twice");
      r.records_.push_back(std::move(rec));
    }
  } catch (const std::exception& e) {
    throw TsmError(TsmErrc::Config, file.string() + ": malformed KEK state file: " + e.what());
  }
  return r;
}

const KekRecord* KekRegistry::find(std::uint32_t index) const noexcept {
  for (const auto& r : records_)
    if (r.index == index) return &r;
  return nullptr;
}

void KekRegistry::add(KekRecord record) {
  if (find(record.index))
    throw TsmError(TsmErrc::Config, "KEK index " + std::to_string(record.index) + " is already recorded in " + file_.string());
  records_.push_back(std::move(record));
  try {
    save();
  } catch (...) {
    records_.pop_back();
    throw;
  }
}

void KekRegistry::save() const {
  nlohmann::ordered_json j;
  j["comment"] = "sekds-tsm KEK records: no secrets, the KCVs the TTP's KekKcv is checked against";
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const auto& r : records_)
    list.push_back({{"index", r.index},
                    {"label", r.label},
                    {"algorithm", r.algorithm},
                    {"kcv", gp::to_hex(r.kcv)},
                    {"tsm", r.tsm},
                    {"imported_at", r.imported_at}});
  j["keks"] = list;
  const std::string text = j.dump(2) + "\n";
  const std::filesystem::path tmp = file_.string() + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw TsmError(TsmErrc::Config, tmp.string() + ": cannot write: " + std::strerror(errno));
  std::size_t off = 0;
  bool ok = true;
  while (off < text.size()) {
    ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      ok = false;
      break;
    }
    off += static_cast<std::size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), file_.c_str()) != 0) {
    const int e = ok ? errno : err;
    ::unlink(tmp.c_str());
    throw TsmError(TsmErrc::Config, file_.string() + ": cannot write the KEK state file: " + std::strerror(e));
  }
}

}  // namespace sekds::tsm
