#include "admin/errors.h"

#include "admin/config.h"
#include "gp/error.h"
#include "hsm/error.h"
#include "store/store_error.h"

namespace sekds::admin {

namespace {

ExitCode hsm_exit_code(const hsm::HsmError& e) {
  if (e.unavailable()) return ExitCode::HsmUnavailable;
  switch (e.code()) {
    case hsm::HsmErrc::BadUri:
    case hsm::HsmErrc::PinSource: return ExitCode::Usage;  // fixed in the configuration
    case hsm::HsmErrc::ObjectExists:
    case hsm::HsmErrc::ObjectNotFound:
    case hsm::HsmErrc::KcvMismatch:
    case hsm::HsmErrc::InvalidArgument:
    case hsm::HsmErrc::Unsupported: return ExitCode::Refused;
    case hsm::HsmErrc::Pkcs11:
    case hsm::HsmErrc::ModuleLoad:
    case hsm::HsmErrc::TokenNotFound:
    case hsm::HsmErrc::TokenAmbiguous:
    case hsm::HsmErrc::LoginRefused: return ExitCode::HsmUnavailable;
  }
  return ExitCode::HsmUnavailable;
}

}  // namespace

Failure classify(std::exception_ptr ep) {
  try {
    std::rethrow_exception(ep);
  } catch (const AdminError& e) {
    return {e.code(), e.name(), e.what()};
  } catch (const ConfigError& e) {
    return {ExitCode::Usage, "ConfigError", e.what()};
  } catch (const store::StoreError& e) {
    return {e.is_storage_failure() ? ExitCode::StoreError : ExitCode::Refused, e.name(), e.what()};
  } catch (const hsm::HsmError& e) {
    return {hsm_exit_code(e), e.name(), e.what()};
  } catch (const gp::GpError& e) {
    return {ExitCode::Refused, e.name(), e.what()};
  } catch (const std::exception& e) {
    return {ExitCode::Refused, "Internal", e.what()};
  } catch (...) {
    return {ExitCode::Refused, "Internal", "unknown error"};
  }
}

}  // namespace sekds::admin
