// A PKCS#11 module loaded at run time (dlopen + C_GetFunctionList), shared by every Hsm of the
// process that names the same path: Cryptoki is initialised once per process and module, and
// C_Finalize ends every session of every user of it.
//
// Locking: each PKCS#11 call made through the module runs under a shared lock of mutex();
// (re)initialisation takes it exclusively, so C_Finalize never races a call in flight.
// The library is initialised with CKF_OS_LOCKING_OK — never with NULL args, which makes
// SoftHSM skip its own locking and corrupt its heap under threads (TOOLCHAIN §3).
//
// The module is never dlclose'd: unloading PKCS#11 modules (and the crypto libraries they
// pull in) is a classic source of crashes at exit; the mapping lives until the process ends.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>

#include "hsm/pkcs11.h"

namespace sekds::hsm {

class Module {
 public:
  // The already-loaded module for `path`, or a newly loaded one (not yet initialised).
  // Throws HsmError(ModuleLoad, unavailable) if the file cannot be loaded or is not a
  // PKCS#11 module.
  static std::shared_ptr<Module> acquire(const std::string& path);

  ~Module();
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  CK_FUNCTION_LIST_PTR fn() const noexcept { return fn_; }
  const std::string& path() const noexcept { return path_; }
  std::shared_mutex& mutex() noexcept { return mutex_; }

  // Bumped at every successful C_Initialize; a session opened under an older generation is dead.
  std::uint64_t generation() const noexcept { return generation_.load(std::memory_order_acquire); }
  bool initialized() const noexcept { return initialized_.load(std::memory_order_acquire); }

  // C_Finalize (if initialised) then C_Initialize. Caller holds mutex() exclusively.
  // Throws HsmError (e.g. CKR_GENERAL_ERROR when SoftHSM's token directory is missing).
  void reinitialize_locked();

 private:
  Module(std::string path, void* handle, CK_FUNCTION_LIST_PTR fn);
  void finalize_locked() noexcept;

  std::string path_;
  [[maybe_unused]] void* handle_;  // the dlopen handle: never dlclose'd (see above), kept for debuggers
  CK_FUNCTION_LIST_PTR fn_;
  std::shared_mutex mutex_;
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<bool> initialized_{false};
  bool owns_init_ = false;  // false when someone else in the process had already initialised it
};

}  // namespace sekds::hsm
