#include "hsm/module.h"

#include <dlfcn.h>

#include <map>
#include <mutex>

#include "hsm/error.h"

namespace sekds::hsm {
namespace {

std::mutex registry_mutex;
std::map<std::string, std::weak_ptr<Module>>& registry() {
  static std::map<std::string, std::weak_ptr<Module>> r;
  return r;
}

}  // namespace

Module::Module(std::string path, void* handle, CK_FUNCTION_LIST_PTR fn)
    : path_(std::move(path)), handle_(handle), fn_(fn) {}

std::shared_ptr<Module> Module::acquire(const std::string& path) {
  std::lock_guard lk(registry_mutex);
  if (auto existing = registry()[path].lock()) return existing;
  if (path.empty()) throw HsmError(HsmErrc::ModuleLoad, "no PKCS#11 module path configured", true);
  ::dlerror();
  void* h = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (h == nullptr) {
    const char* e = ::dlerror();
    throw HsmError(HsmErrc::ModuleLoad,
                   "cannot load PKCS#11 module " + path + ": " + (e != nullptr ? e : "dlopen failed"), true);
  }
  auto get = reinterpret_cast<CK_C_GetFunctionList>(::dlsym(h, "C_GetFunctionList"));
  if (get == nullptr)
    throw HsmError(HsmErrc::ModuleLoad, "PKCS#11 module " + path + " has no C_GetFunctionList (not a PKCS#11 module?)",
                   true);
  CK_FUNCTION_LIST_PTR fn = nullptr;
  CK_RV rv = get(&fn);
  if (rv != CKR_OK || fn == nullptr)
    throw HsmError(HsmErrc::ModuleLoad,
                   "C_GetFunctionList of " + path + " failed: " + ckr_name(rv), true);
  std::shared_ptr<Module> m(new Module(path, h, fn));
  registry()[path] = m;
  return m;
}

Module::~Module() {
  std::unique_lock lk(mutex_);
  finalize_locked();
  // handle_ deliberately not dlclose'd (see header).
}

void Module::finalize_locked() noexcept {
  if (initialized_.load(std::memory_order_acquire) && owns_init_) fn_->C_Finalize(nullptr);
  initialized_.store(false, std::memory_order_release);
}

void Module::reinitialize_locked() {
  finalize_locked();
  CK_C_INITIALIZE_ARGS args{};
  args.flags = CKF_OS_LOCKING_OK;  // never NULL args: see header
  CK_RV rv = fn_->C_Initialize(&args);
  if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED) {
    owns_init_ = false;  // initialised by other code in this process; leave finalisation to it
  } else if (rv != CKR_OK) {
    throw HsmError("C_Initialize", rv, path_);
  } else {
    owns_init_ = true;
  }
  initialized_.store(true, std::memory_order_release);
  generation_.fetch_add(1, std::memory_order_acq_rel);
}

}  // namespace sekds::hsm
