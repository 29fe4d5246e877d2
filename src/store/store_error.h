// Errors of the store layer: a name (StoreErrc) plus the failing operation in the
// message. SQLite result codes are translated here, once, where they are known.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace sekds::store {

enum class StoreErrc {
  NotFound,           // the named issuer / TSM / key set / KEK / entitlement does not exist
  Conflict,           // a unique name, fingerprint, (issuer, KVN) or (TSM, index) already exists
  Constraint,         // a foreign key, CHECK or NOT NULL rule refused the change
  IllegalTransition,  // a state change that is not allowed (KEK retired -> active, ...)
  InvalidArgument,    // a value out of range or malformed before it reaches SQL
  Busy,               // the database stayed locked longer than the busy timeout
  Io,                 // the file cannot be opened, read, written or synced
  Corrupt,            // the file is not a database or is damaged
  ReadOnly,           // the database (or its directory) is read-only
  DiskFull,           // no space left (or the configured size cap is reached)
  SchemaTooNew,       // the database was migrated by a newer sekds than this one
  Internal,           // anything else SQLite reports (misuse, out of memory, ...)
};

const char* store_errc_name(StoreErrc e) noexcept;

class StoreError : public std::runtime_error {
 public:
  StoreError(StoreErrc code, const std::string& what) : std::runtime_error(what), code_(code) {}
  StoreErrc code() const noexcept { return code_; }
  const char* name() const noexcept { return store_errc_name(code_); }
  // The audit cannot be written for a reason that is about the storage itself (not the
  // request): the service answers AuditUnavailable and releases nothing.
  bool is_storage_failure() const noexcept;

 private:
  StoreErrc code_;
};

}  // namespace sekds::store
