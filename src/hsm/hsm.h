// One logged-in connection to one PKCS#11 token, kept for the life of the process.
//
// - The module is dlopen'ed from the configured path (Module), the token found by label or
//   pkcs11: URI (TokenSelector), and one *anchor* session stays open and logged in: closing
//   the last session of the application logs it out and destroys its session objects.
// - Work runs on sessions leased from a pool (one per concurrent operation, so multi-part
//   operation state is never shared): `with_session(what, fn)`.
// - Outages: an error that means the HSM is gone (CKR_DEVICE_REMOVED, CKR_TOKEN_NOT_PRESENT,
//   CKR_SESSION_HANDLE_INVALID, CKR_CRYPTOKI_NOT_INITIALIZED, ... module load failure, token
//   missing), or a suspicious one (CKR_GENERAL_ERROR, a handle or label that vanished) confirmed
//   by a failing C_GetTokenInfo, marks the connection unavailable and is thrown as an HsmError
//   with unavailable() == true. Later calls fail fast with "HSM unavailable" until the back-off
//   delay has passed; then one caller reconnects (C_Finalize + C_Initialize, find the token,
//   anchor session, login) while the others keep failing fast. No process restart is needed.
// - SoftHSMv2 specifics measured on this machine (see hsm/README.md): when its token directory
//   is moved away, key handles fail with CKR_OBJECT_HANDLE_INVALID, C_FindObjects finds
//   nothing, C_GetTokenInfo and token-object writes fail with CKR_GENERAL_ERROR; moving the
//   directory back is NOT noticed until C_Finalize/C_Initialize, and C_Initialize itself fails
//   with CKR_GENERAL_ERROR while the directory is missing. A module path that does not load is
//   an outage too (retried with back-off), so a module installed later is picked up.
// - A PIN error at login (CKR_PIN_INCORRECT, CKR_PIN_LOCKED, ...) is never retried: repeating
//   a wrong PIN can lock a real token. It is reported as HsmErrc::LoginRefused every call.
// - One login role per process and token: PKCS#11 login state is per application, so a USER
//   Hsm and an SO Hsm on the same token cannot coexist (CKR_USER_ANOTHER_ALREADY_LOGGED_IN).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "gp/bytes.h"
#include "hsm/error.h"
#include "hsm/pin_source.h"
#include "hsm/session.h"
#include "hsm/token_selector.h"

namespace sekds::hsm {

class Module;

// USER: the service and key imports. SO: ceremonies that must set CKA_TRUSTED (SO sessions
// can only create PUBLIC objects).
enum class LoginRole { User, SecurityOfficer };
const char* login_role_name(LoginRole r) noexcept;  // "USER", "SO"

inline constexpr const char* kSoftHsmModule = "/usr/lib/softhsm/libsofthsm2.so";

struct HsmConfig {
  std::string module_path = kSoftHsmModule;
  std::string token;  // a token label, or a pkcs11: URI (TokenSelector)
  PinSource pin;      // parsed from "file:/path" or "env:NAME"
  LoginRole role = LoginRole::User;
  std::size_t max_sessions = 16;                      // leased sessions (the anchor is extra)
  std::chrono::milliseconds retry_initial{1000};      // first back-off after an outage
  std::chrono::milliseconds retry_max{30000};         // back-off doubles up to this
};

// Whether the constructor must connect (and throw if it cannot) or may start while the HSM
// is down (the first calls then fail fast, and reconnects follow the back-off).
enum class ConnectMode { Now, Lazy };

struct HsmStatus {
  bool connected = false;
  bool login_refused = false;   // a PIN error: not retried
  std::string last_error;       // message of the last outage or connect failure ("" if none)
  std::string last_error_name;  // its CKR_ / HsmErrc name
  std::uint64_t connects = 0;            // successful (re)connections
  std::uint64_t reconnect_attempts = 0;  // connection attempts, successful or not
  std::size_t open_sessions = 0;         // leased + idle, without the anchor
  CK_SLOT_ID slot = 0;
  std::chrono::milliseconds retry_in{0};  // time until the next reconnect attempt may run
};

class Hsm {
 public:
  explicit Hsm(HsmConfig config, ConnectMode mode = ConnectMode::Now);
  ~Hsm();
  Hsm(const Hsm&) = delete;
  Hsm& operator=(const Hsm&) = delete;

  // Runs fn(Session&) on a leased session and returns its result. `what` names the operation
  // in errors. A stale object handle (object destroyed and re-created elsewhere) is retried
  // once after the handle caches are dropped; fn must therefore be safe to run twice when its
  // first run failed (undo partial work on error — ScopedObject does that for session objects).
  template <class F>
  auto with_session(const char* what, F&& fn) -> std::invoke_result_t<F&, Session&>;

  // The handle of the one object of `cls` labelled `label`, cached until the next reconnect
  // or forget_handles(). Throws HsmError(ObjectNotFound) / (InvalidArgument) if several.
  CK_OBJECT_HANDLE find_object(Session& s, CK_OBJECT_CLASS cls, const std::string& label);
  // For hot paths: a session-object copy (C_CopyObject, CKA_TOKEN false, made on the anchor
  // session so that it lives until the next reconnect) of that object, cached like its handle.
  // SoftHSM's file store re-reads a token object's file (open, lock, read) on every use — 18
  // file opens per key release, a third of the server's CPU; a session copy lives in memory.
  // The copy keeps every attribute (sensitive, never extractable, usage flags), so nothing is
  // weakened. An object that may not be copied (CKA_COPYABLE false) is used as it is. The
  // original is looked at again every kWorkingCopyRecheck: an object destroyed on the token (by
  // sekds-admin in another process), or a token gone, stops being used within that time.
  CK_OBJECT_HANDLE find_working_copy(Session& s, CK_OBJECT_CLASS cls, const std::string& label);
  static constexpr std::chrono::milliseconds kWorkingCopyRecheck{250};
  static constexpr const char* kWorkingCopySuffix = " [working copy]";  // CKA_LABEL of a copy
  // Uncached: every object carrying the label, any class.
  std::vector<CK_OBJECT_HANDLE> find_all(Session& s, const std::string& label);
  bool label_exists(Session& s, const std::string& label) { return !find_all(s, label).empty(); }
  void forget_handles();
  // Changes whenever cached handles become invalid (reconnect, forget_handles). Derived
  // caches (CMAC subkeys ...) compare it to know when to rebuild.
  std::uint64_t cache_epoch() const noexcept { return cache_epoch_.load(std::memory_order_acquire); }

  // C_GenerateRandom (key components for custodians, PINs ...).
  gp::SecureBytes generate_random(std::size_t n);
  // Destroys every object carrying `label` (key and companion data object). Returns how many;
  // throws HsmError(ObjectNotFound) if there is none.
  std::size_t destroy_object(const std::string& label);

  LoginRole role() const noexcept { return config_.role; }
  // Objects this login may create are private for USER, public for SO.
  bool private_objects() const noexcept { return config_.role == LoginRole::User; }
  const TokenSelector& token() const noexcept { return selector_; }
  HsmStatus status() const;
  // Tries to (re)connect now, ignoring the back-off (operator action, tests). True on success.
  bool reconnect_now();

 private:
  void run(const char* what, const std::function<void(Session&)>& fn);
  std::uint64_t ensure_connected();  // returns the connection generation
  void connect_locked();             // caller holds reconnect_mu_
  // ignore_backoff: the module is known to be up (or an operator asked); force: even if connected.
  bool try_connect(bool ignore_backoff, bool force = false);
  void mark_unavailable(const HsmError& e, std::uint64_t generation);
  [[noreturn]] void fail_fast();
  bool token_healthy(Session& s, std::string* detail);

  CK_SESSION_HANDLE lease_session(std::uint64_t generation);
  void return_session(CK_SESSION_HANDLE h, std::uint64_t generation, bool discard) noexcept;
  void drop_sessions_locked() noexcept;  // forget pool handles (dead after C_Finalize)

  HsmConfig config_;
  TokenSelector selector_;
  gp::SecureBytes pin_;
  std::shared_ptr<Module> module_;

  // Connection state.
  mutable std::mutex state_mu_;
  std::mutex reconnect_mu_;
  std::atomic<bool> connected_{false};
  std::atomic<std::uint64_t> generation_{0};  // ours: +1 per successful connect
  std::uint64_t module_generation_ = 0;       // the module generation we connected under
  CK_SLOT_ID slot_ = 0;
  CK_SESSION_HANDLE anchor_ = CK_INVALID_HANDLE;
  std::optional<HsmError> last_error_;
  bool login_refused_ = false;
  std::chrono::steady_clock::time_point next_attempt_{};
  std::chrono::milliseconds backoff_{0};
  std::uint64_t connects_ = 0, attempts_ = 0;

  // Session pool.
  mutable std::mutex pool_mu_;
  std::condition_variable pool_cv_;
  std::vector<CK_SESSION_HANDLE> idle_;
  std::size_t open_ = 0;

  // Handle cache: "<class>:<label>" -> handle.
  std::mutex cache_mu_;
  std::unordered_map<std::string, CK_OBJECT_HANDLE> handles_;
  struct WorkingCopy {
    CK_OBJECT_HANDLE copy, original;
    std::chrono::steady_clock::time_point checked;
  };
  std::unordered_map<std::string, WorkingCopy> copies_;  // by "<class>:<label>" 
  std::atomic<std::uint64_t> cache_epoch_{1};
};

template <class F>
auto Hsm::with_session(const char* what, F&& fn) -> std::invoke_result_t<F&, Session&> {
  using R = std::invoke_result_t<F&, Session&>;
  if constexpr (std::is_void_v<R>) {
    run(what, [&](Session& s) { fn(s); });
  } else {
    std::optional<R> result;
    run(what, [&](Session& s) { result.emplace(fn(s)); });
    return std::move(*result);
  }
}

}  // namespace sekds::hsm
