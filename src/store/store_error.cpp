#include "store/store_error.h"

namespace sekds::store {

const char* store_errc_name(StoreErrc e) noexcept {
  switch (e) {
    case StoreErrc::NotFound: return "NotFound";
    case StoreErrc::Conflict: return "Conflict";
    case StoreErrc::Constraint: return "Constraint";
    case StoreErrc::IllegalTransition: return "IllegalTransition";
    case StoreErrc::InvalidArgument: return "InvalidArgument";
    case StoreErrc::Busy: return "Busy";
    case StoreErrc::Io: return "Io";
    case StoreErrc::Corrupt: return "Corrupt";
    case StoreErrc::ReadOnly: return "ReadOnly";
    case StoreErrc::DiskFull: return "DiskFull";
    case StoreErrc::SchemaTooNew: return "SchemaTooNew";
    case StoreErrc::Internal: return "Internal";
  }
  return "Unknown";
}

bool StoreError::is_storage_failure() const noexcept {
  switch (code_) {
    case StoreErrc::Busy:
    case StoreErrc::Io:
    case StoreErrc::Corrupt:
    case StoreErrc::ReadOnly:
    case StoreErrc::DiskFull:
    case StoreErrc::SchemaTooNew:
    case StoreErrc::Internal:
      return true;
    default:
      return false;
  }
}

}  // namespace sekds::store
