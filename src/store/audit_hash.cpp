#include "store/audit_hash.h"

#include <openssl/evp.h>

#include <array>
#include <stdexcept>

#include "store/store_error.h"

namespace sekds::store {

std::string genesis_hash() { return std::string(64, '0'); }

namespace {

void put_field(std::string& out, const std::optional<std::string>& v) {
  if (!v) {
    out.push_back('\0');
    return;
  }
  out.push_back('\1');
  const auto n = static_cast<std::uint32_t>(v->size());
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((n >> shift) & 0xFF));
  out.append(*v);
}

template <class T>
std::optional<std::string> dec(const std::optional<T>& v) {
  if (!v) return std::nullopt;
  return std::to_string(static_cast<std::uint64_t>(*v));
}

}  // namespace

AuditText audit_text(const AuditEntry& e) {
  return {std::to_string(e.seq),
          format_timestamp(e.time),
          e.actor,
          e.operation,
          e.kdd ? std::optional<std::string>(gp::to_hex(gp::view(*e.kdd))) : std::nullopt,
          e.issuer,
          dec(e.kvn),
          dec(e.kek_index),
          e.result,
          e.request_id,
          e.detail,
          e.prev_hash};
}

std::string canonical_audit_content(const AuditText& fields) {
  std::string out(kAuditHashDomain);
  for (const auto& f : fields) put_field(out, f);
  return out;
}

std::string audit_hash(const AuditText& fields) {
  const std::string content = canonical_audit_content(fields);
  std::array<std::uint8_t, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (EVP_Digest(content.data(), content.size(), md.data(), &len, EVP_sha256(), nullptr) != 1 || len != 32) {
    throw StoreError(StoreErrc::Internal, "audit hash: EVP_Digest(SHA-256) failed");
  }
  return gp::to_hex(gp::ByteView(md.data(), len));
}

}  // namespace sekds::store
