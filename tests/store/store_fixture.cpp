#include "store_fixture.h"

#include <sqlite3.h>
#include <stdlib.h>

#include <stdexcept>

namespace sekds::test {

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "sekds-store-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::permissions(path_, std::filesystem::perms::owner_all, std::filesystem::perm_options::add, ec);
  std::filesystem::remove_all(path_, ec);
}

StoreFixture::StoreFixture() : StoreFixture(store::SqliteOptions{}) {}

StoreFixture::StoreFixture(const store::SqliteOptions& options)
    : db(dir.file("sekds.db")), store(store::SqliteStore::open(db, options)) {}

namespace {

struct Raw {
  explicit Raw(const std::filesystem::path& path) {
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK) {
      const std::string msg = sqlite3_errmsg(db);
      sqlite3_close(db);
      throw std::runtime_error("raw open: " + msg);
    }
    sqlite3_busy_timeout(db, 10000);
  }
  ~Raw() { sqlite3_close(db); }
  sqlite3* db = nullptr;
};

}  // namespace

void raw_exec(const std::filesystem::path& path, const std::string& sql) {
  Raw raw(path);
  char* err = nullptr;
  if (sqlite3_exec(raw.db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    const std::string msg = err ? err : "?";
    sqlite3_free(err);
    throw std::runtime_error("raw exec: " + msg + " in: " + sql);
  }
}

std::string raw_query(const std::filesystem::path& path, const std::string& sql) {
  Raw raw(path);
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(raw.db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
    throw std::runtime_error(std::string("raw query: ") + sqlite3_errmsg(raw.db));
  }
  std::string out;
  if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != nullptr) {
    out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  }
  sqlite3_finalize(st);
  return out;
}

store::IssuerSpec sample_issuer(const std::string& name, const std::string& iin) { return {name, iin}; }

store::KeySetSpec sample_key_set(const std::string& issuer, std::uint8_t kvn) {
  store::KeySetSpec s;
  s.issuer = issuer;
  s.kvn = kvn;
  s.scp = 3;
  s.scp_i = 0x70;
  s.key_type = gp::KeyType::Aes128;
  s.method = gp::DiversificationMethod::Kdf3;
  s.hsm_labels = {"acme-kvn30-master", "acme-kvn30-master", "acme-kvn30-master"};
  s.kcvs = {gp::from_hex("A1B2C3"), gp::from_hex("A1B2C3"), gp::from_hex("A1B2C3")};
  s.kcv_alg = gp::KcvAlg::AesGp;
  return s;
}

store::KeySetSpec sample_scp02_key_set(const std::string& issuer, std::uint8_t kvn) {
  store::KeySetSpec s;
  s.issuer = issuer;
  s.kvn = kvn;
  s.scp = 2;
  s.scp_i = 0x55;
  s.key_type = gp::KeyType::Des2;
  s.method = gp::DiversificationMethod::Emv;
  s.hsm_labels = {"acme-enc", "acme-mac", "acme-dek"};
  s.kcvs = {gp::from_hex("111111"), gp::from_hex("222222"), gp::from_hex("333333")};
  s.kcv_alg = gp::KcvAlg::Des3Zero;
  return s;
}

store::TsmSpec sample_tsm(const std::string& name, char fill) {
  // Fingerprints in the colon form `openssl x509 -fingerprint -sha256` prints.
  std::string fp;
  for (int i = 0; i < 32; ++i) {
    if (i) fp += ':';
    fp += fill;
    fp += static_cast<char>('0' + i % 10);
  }
  return {name, fp, "/O=Test/CN=" + name};
}

store::KekSpec sample_kek(const std::string& tsm, std::uint32_t index) {
  store::KekSpec k;
  k.tsm = tsm;
  k.index = index;
  k.algorithm = gp::KeyType::Aes256;
  k.kcv = gp::from_hex("0A0B0C");
  k.hsm_label = tsm + "-kek-" + std::to_string(index);
  return k;
}

gp::Bytes sample_kdd(std::uint8_t last) {
  gp::Bytes kdd = gp::from_hex("00010203040506070800");
  kdd.back() = last;
  return kdd;
}

store::AuditRecord sample_release(const std::string& actor, std::uint8_t kdd_last) {
  store::AuditRecord r;
  r.actor = actor;
  r.operation = std::string(store::kOpKeyRelease);
  r.kdd = sample_kdd(kdd_last);
  r.issuer = "acme";
  r.kvn = 0x30;
  r.kek_index = 1;
  r.detail = {{"scp", 3}, {"counter", "000001"}};
  return r;
}

}  // namespace sekds::test
