#include "hsm/hsm.h"

#include <optional>

#include <algorithm>
#include <shared_mutex>

#include "hsm/module.h"

namespace sekds::hsm {

using Clock = std::chrono::steady_clock;

const char* login_role_name(LoginRole r) noexcept { return r == LoginRole::User ? "USER" : "SO"; }

namespace {

// Errors that may only mean "this object is gone", or may mean "the token is gone":
// a C_GetTokenInfo probe decides (SoftHSM answers CKR_GENERAL_ERROR once its directory vanished).
bool is_stale_handle(const HsmError& e) {
  if (e.code() != HsmErrc::Pkcs11) return false;
  switch (e.rv()) {
    case CKR_OBJECT_HANDLE_INVALID:
    case CKR_KEY_HANDLE_INVALID:
    case CKR_WRAPPING_KEY_HANDLE_INVALID:
    case CKR_UNWRAPPING_KEY_HANDLE_INVALID:
      return true;
    default:
      return false;
  }
}

bool is_suspicious(const HsmError& e) {
  if (e.code() == HsmErrc::ObjectNotFound) return true;
  if (e.code() != HsmErrc::Pkcs11) return false;
  return is_stale_handle(e) || e.rv() == CKR_GENERAL_ERROR || e.rv() == CKR_FUNCTION_FAILED;
}

std::string class_name(CK_OBJECT_CLASS c) {
  switch (c) {
    case CKO_SECRET_KEY: return "secret key";
    case CKO_DATA: return "data";
    case CKO_PRIVATE_KEY: return "private key";
    case CKO_PUBLIC_KEY: return "public key";
    case CKO_CERTIFICATE: return "certificate";
    default: return "class " + std::to_string(c);
  }
}

}  // namespace

Hsm::Hsm(HsmConfig config, ConnectMode mode)
    : config_(std::move(config)), selector_(TokenSelector::parse(config_.token)) {
  if (config_.max_sessions == 0) throw HsmError(HsmErrc::InvalidArgument, "max_sessions must be at least 1");
  if (config_.retry_max < config_.retry_initial) config_.retry_max = config_.retry_initial;
  pin_ = config_.pin.read();  // a PIN source problem is a configuration error: reported now
  std::lock_guard rl(reconnect_mu_);
  try {
    connect_locked();
  } catch (const HsmError& e) {
    if (mode == ConnectMode::Now || e.code() == HsmErrc::LoginRefused) throw;
  }
}

Hsm::~Hsm() {
  std::lock_guard rl(reconnect_mu_);
  if (!module_) return;
  {
    std::unique_lock mlk(module_->mutex());
    // Our handles are valid (or harmlessly dead) as long as the module was not re-initialised
    // since we connected; closing a handle of an older generation could close someone else's.
    if (module_->initialized() && module_->generation() == module_generation_) {
      CK_FUNCTION_LIST_PTR fn = module_->fn();
      std::lock_guard pl(pool_mu_);
      for (CK_SESSION_HANDLE h : idle_) fn->C_CloseSession(h);
      idle_.clear();
      // Closing our last session logs us out unless another Hsm of this process still
      // holds sessions on the token; C_Logout is never called (it would log them out too).
      if (anchor_ != CK_INVALID_HANDLE) fn->C_CloseSession(anchor_);
    }
  }
  module_.reset();  // the last user finalises the module
}

// ---- connection -----------------------------------------------------------------------------

void Hsm::drop_sessions_locked() noexcept {
  // After C_Finalize (ours or another Hsm's) these handles are dead and their numbers may be
  // reused by new sessions: forget them, never close them.
  std::lock_guard pl(pool_mu_);
  idle_.clear();
  open_ = 0;
}

void Hsm::connect_locked() {
  {
    std::lock_guard sl(state_mu_);
    ++attempts_;
    connected_.store(false, std::memory_order_release);
  }
  try {
    if (!module_) module_ = Module::acquire(config_.module_path);
    // Exclusive: no operation is in flight, so no leased session can come back into the pool
    // after it has been emptied below.
    std::unique_lock mlk(module_->mutex());
    drop_sessions_locked();
    anchor_ = CK_INVALID_HANDLE;
    // Re-initialise unless another Hsm of this process already did since we connected
    // (re-initialising again would kill its fresh sessions).
    if (!module_->initialized() || module_->generation() == module_generation_) module_->reinitialize_locked();
    CK_FUNCTION_LIST_PTR fn = module_->fn();

    CK_ULONG n = 0;
    check_rv(fn->C_GetSlotList(CK_TRUE, nullptr, &n), "C_GetSlotList");
    std::vector<CK_SLOT_ID> slots(n);
    check_rv(fn->C_GetSlotList(CK_TRUE, slots.data(), &n), "C_GetSlotList");
    slots.resize(n);
    std::vector<CK_SLOT_ID> matches;
    std::string seen;
    for (CK_SLOT_ID s : slots) {
      CK_TOKEN_INFO info{};
      if (fn->C_GetTokenInfo(s, &info) != CKR_OK || (info.flags & CKF_TOKEN_INITIALIZED) == 0) continue;
      if (!seen.empty()) seen += ", ";
      seen += "'" + token_field(info.label, sizeof info.label) + "'";
      if (selector_.matches(s, info)) matches.push_back(s);
    }
    if (matches.empty())
      throw HsmError(HsmErrc::TokenNotFound,
                     "no token matches " + selector_.describe() + " in " + config_.module_path +
                         (seen.empty() ? " (no initialised token present)" : " (present: " + seen + ")"),
                     true);
    if (matches.size() > 1)
      throw HsmError(HsmErrc::TokenAmbiguous, std::to_string(matches.size()) + " tokens match " +
                                                  selector_.describe() + "; add serial= to the pkcs11: URI");
    const CK_SLOT_ID slot = matches.front();

    CK_SESSION_HANDLE anchor = CK_INVALID_HANDLE;
    check_rv(fn->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &anchor), "C_OpenSession");
    const CK_USER_TYPE user = config_.role == LoginRole::User ? CKU_USER : CKU_SO;
    CK_RV rv = fn->C_Login(anchor, user, pin_.data(), static_cast<CK_ULONG>(pin_.size()));
    if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {  // already: another Hsm of ours, same role
      fn->C_CloseSession(anchor);
      if (ckr_is_pin_error(rv)) {
        std::lock_guard sl(state_mu_);
        login_refused_ = true;
        throw HsmError(HsmErrc::LoginRefused,
                       std::string("C_Login as ") + login_role_name(config_.role) + " on " + selector_.describe() +
                           ": " + ckr_name(rv) + " (PIN from " + config_.pin.describe() +
                           "); not retried, a wrong PIN repeated can lock the token");
      }
      if (rv == CKR_USER_ANOTHER_ALREADY_LOGGED_IN)
        throw HsmError("C_Login", rv,
                       "another login role is active on this token in this process (USER and SO cannot be "
                       "logged in at the same time)");
      throw HsmError("C_Login", rv);
    }
    std::lock_guard sl(state_mu_);
    slot_ = slot;
    anchor_ = anchor;
    module_generation_ = module_->generation();
    login_refused_ = false;
    last_error_.reset();
    backoff_ = std::chrono::milliseconds{0};
    ++connects_;
    generation_.fetch_add(1, std::memory_order_acq_rel);
    connected_.store(true, std::memory_order_release);
  } catch (const HsmError& e) {
    std::lock_guard sl(state_mu_);
    if (e.code() == HsmErrc::LoginRefused) {
      last_error_ = e;
    } else {
      last_error_ = HsmError::as_unavailable(e);
    }
    backoff_ = backoff_.count() == 0 ? config_.retry_initial : std::min(backoff_ * 2, config_.retry_max);
    next_attempt_ = Clock::now() + backoff_;
    forget_handles();
    throw *last_error_;
  }
  forget_handles();
}

bool Hsm::try_connect(bool ignore_backoff, bool force) {
  {
    std::lock_guard sl(state_mu_);
    if (!ignore_backoff && (login_refused_ || Clock::now() < next_attempt_)) return false;
  }
  std::unique_lock rl(reconnect_mu_, std::try_to_lock);
  if (!rl.owns_lock()) {
    if (!ignore_backoff) return false;  // another thread is reconnecting: fail fast meanwhile
    rl.lock();
  }
  // Another thread may have reconnected while we waited: connecting again would re-initialise
  // the module and kill the sessions it just opened.
  if (!force && connected_.load() && module_ && module_->generation() == module_generation_) return true;
  try {
    connect_locked();
    return true;
  } catch (const HsmError&) {
    return false;
  }
}

bool Hsm::reconnect_now() {
  // An operator may have fixed the PIN file: read it again.
  try {
    gp::SecureBytes pin = config_.pin.read();
    std::lock_guard rl(reconnect_mu_);
    pin_ = std::move(pin);
  } catch (const HsmError& e) {
    std::lock_guard sl(state_mu_);
    last_error_ = e;
    return false;
  }
  return try_connect(true, true);
}

std::uint64_t Hsm::ensure_connected() {
  for (int i = 0; i < 2; ++i) {
    if (connected_.load(std::memory_order_acquire)) {
      std::uint64_t gen = generation_.load(std::memory_order_acquire);
      std::uint64_t mod_gen;
      {
        std::lock_guard sl(state_mu_);
        mod_gen = module_generation_;
      }
      if (module_->generation() == mod_gen) return gen;
      // Another Hsm of this process re-initialised the module: our sessions died with it.
      // Reconnecting now (no back-off) is not hammering: the module is up.
      if (try_connect(true)) continue;
      fail_fast();
    }
    if (!try_connect(false)) fail_fast();
  }
  if (connected_.load(std::memory_order_acquire)) return generation_.load(std::memory_order_acquire);
  fail_fast();
}

void Hsm::fail_fast() {
  std::lock_guard sl(state_mu_);
  if (!last_error_) throw HsmError(HsmErrc::TokenNotFound, "HSM unavailable: not connected", true);
  if (login_refused_) throw *last_error_;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(next_attempt_ - Clock::now());
  throw HsmError::as_unavailable(*last_error_, left.count() > 0 ? "next reconnect attempt in " +
                                                                      std::to_string(left.count()) + " ms"
                                                                : "reconnect pending");
}

void Hsm::mark_unavailable(const HsmError& e, std::uint64_t generation) {
  std::lock_guard sl(state_mu_);
  if (generation != generation_.load() || !connected_.load()) return;  // already handled
  connected_.store(false, std::memory_order_release);
  last_error_ = e;
  backoff_ = config_.retry_initial;
  next_attempt_ = Clock::now() + backoff_;
}

bool Hsm::token_healthy(Session& s, std::string* detail) {
  CK_TOKEN_INFO info{};
  CK_RV rv = s.fn()->C_GetTokenInfo(slot_, &info);
  if (rv == CKR_OK) return true;
  *detail = "token check C_GetTokenInfo: " + ckr_name(rv);
  return false;
}

// ---- sessions -------------------------------------------------------------------------------

CK_SESSION_HANDLE Hsm::lease_session(std::uint64_t generation) {
  std::unique_lock lk(pool_mu_);
  for (;;) {
    if (!idle_.empty()) {
      CK_SESSION_HANDLE h = idle_.back();
      idle_.pop_back();
      return h;
    }
    if (open_ < config_.max_sessions) {
      ++open_;
      lk.unlock();
      CK_SESSION_HANDLE h = CK_INVALID_HANDLE;
      CK_RV rv = module_->fn()->C_OpenSession(slot_, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &h);
      if (rv != CKR_OK) {
        return_session(CK_INVALID_HANDLE, generation, true);
        throw HsmError("C_OpenSession", rv);
      }
      return h;
    }
    pool_cv_.wait(lk);
  }
}

void Hsm::return_session(CK_SESSION_HANDLE h, std::uint64_t generation, bool discard) noexcept {
  // Called with the module lock held shared, so the module generation cannot change here.
  std::lock_guard lk(pool_mu_);
  if (generation == generation_.load()) {
    if (discard || h == CK_INVALID_HANDLE) {
      if (h != CK_INVALID_HANDLE) module_->fn()->C_CloseSession(h);  // the anchor keeps the login
      if (open_ > 0) --open_;
    } else {
      idle_.push_back(h);
    }
  }
  pool_cv_.notify_one();
}

void Hsm::run(const char* what, const std::function<void(Session&)>& fn) {
  for (int attempt = 0;; ++attempt) {
    const std::uint64_t gen = ensure_connected();
    std::shared_lock mlk(module_->mutex());
    if (gen != generation_.load() || !connected_.load()) {
      mlk.unlock();
      if (attempt < 3) continue;
      fail_fast();
    }
    CK_SESSION_HANDLE h = CK_INVALID_HANDLE;
    try {
      h = lease_session(gen);
    } catch (const HsmError& e) {
      HsmError u = HsmError::as_unavailable(e, std::string("while starting ") + what);
      mark_unavailable(u, gen);
      throw u;
    }
    Session s(module_->fn(), h);
    try {
      fn(s);
      return_session(h, gen, false);
      return;
    } catch (const HsmError& e) {
      std::string detail;
      bool outage = e.unavailable();
      if (!outage && is_suspicious(e) && !token_healthy(s, &detail)) outage = true;
      return_session(h, gen, true);  // its operation state is unknown: never reuse it
      if (outage) {
        HsmError u = HsmError::as_unavailable(e, detail);
        mark_unavailable(u, gen);
        throw u;
      }
      if (attempt == 0 && is_stale_handle(e)) {
        forget_handles();  // an object was replaced behind our back: look it up again, once
        continue;
      }
      throw;
    } catch (...) {
      return_session(h, gen, true);
      throw;
    }
  }
}

// ---- objects --------------------------------------------------------------------------------

CK_OBJECT_HANDLE Hsm::find_object(Session& s, CK_OBJECT_CLASS cls, const std::string& label) {
  const std::string key = std::to_string(cls) + ":" + label;
  {
    std::lock_guard lk(cache_mu_);
    if (auto it = handles_.find(key); it != handles_.end()) return it->second;
  }
  const std::uint64_t epoch = cache_epoch();
  Template t;
  t.add_ulong(CKA_CLASS, cls).add(CKA_LABEL, std::string_view(label)).add(CKA_TOKEN, true);  // not working copies
  auto found = s.find(t, 2);
  if (found.empty())
    throw HsmError(HsmErrc::ObjectNotFound, "no " + class_name(cls) + " object labelled '" + label + "' on " +
                                                selector_.describe());
  if (found.size() > 1)
    throw HsmError(HsmErrc::InvalidArgument,
                   "several " + class_name(cls) + " objects are labelled '" + label + "'; labels must be unique");
  std::lock_guard lk(cache_mu_);
  if (epoch == cache_epoch()) handles_[key] = found.front();
  return found.front();
}

CK_OBJECT_HANDLE Hsm::find_working_copy(Session& s, CK_OBJECT_CLASS cls, const std::string& label) {
  const std::string key = std::to_string(cls) + ":" + label;
  const auto now = std::chrono::steady_clock::now();
  std::optional<WorkingCopy> cached;
  {
    std::lock_guard lk(cache_mu_);
    if (auto it = copies_.find(key); it != copies_.end()) {
      if (now - it->second.checked < kWorkingCopyRecheck) return it->second.copy;
      cached = it->second;
      it->second.checked = now;  // one thread re-checks; the others keep going meanwhile
    }
  }
  if (cached) {
    CK_OBJECT_CLASS c = 0;
    CK_ATTRIBUTE a{CKA_CLASS, &c, sizeof c};
    if (s.fn()->C_GetAttributeValue(s.handle(), cached->original, &a, 1) == CKR_OK && c == cls) return cached->copy;
    forget_handles();  // the original is gone or replaced: look everything up again
  }
  const std::uint64_t epoch = cache_epoch();
  const CK_OBJECT_HANDLE original = find_object(s, cls, label);
  CK_SESSION_HANDLE anchor;
  {
    std::lock_guard sl(state_mu_);
    anchor = anchor_;
  }
  CK_BBOOL no = CK_FALSE;
  std::string copy_label = label + kWorkingCopySuffix;
  CK_ATTRIBUTE tmpl[] = {{CKA_TOKEN, &no, sizeof no},
                         {CKA_LABEL, copy_label.data(), static_cast<CK_ULONG>(copy_label.size())}};
  CK_OBJECT_HANDLE copy = CK_INVALID_HANDLE;
  // Stale copies (after forget_handles) are not destroyed: another thread may still be using
  // one; they go with the anchor session at the next reconnect.
  if (anchor == CK_INVALID_HANDLE || s.fn()->C_CopyObject(anchor, original, tmpl, 2, &copy) != CKR_OK)
    copy = original;
  std::lock_guard lk(cache_mu_);
  if (epoch == cache_epoch()) copies_[key] = WorkingCopy{copy, original, now};
  return copy;
}

std::vector<CK_OBJECT_HANDLE> Hsm::find_all(Session& s, const std::string& label) {
  Template t;
  t.add(CKA_LABEL, std::string_view(label));
  return s.find(t, 64);
}

void Hsm::forget_handles() {
  std::lock_guard lk(cache_mu_);
  handles_.clear();
  copies_.clear();
  cache_epoch_.fetch_add(1, std::memory_order_acq_rel);
}

gp::SecureBytes Hsm::generate_random(std::size_t n) {
  if (n == 0 || n > 4096) throw HsmError(HsmErrc::InvalidArgument, "random length must be 1..4096 bytes");
  return with_session("generate random", [&](Session& s) { return s.random(n); });
}

std::size_t Hsm::destroy_object(const std::string& label) {
  std::size_t n = with_session("destroy object", [&](Session& s) {
    auto objs = find_all(s, label);
    if (objs.empty())
      throw HsmError(HsmErrc::ObjectNotFound, "no object labelled '" + label + "' on " + selector_.describe());
    for (CK_OBJECT_HANDLE o : objs) s.destroy(o);
    return objs.size();
  });
  forget_handles();
  return n;
}

HsmStatus Hsm::status() const {
  HsmStatus st;
  {
    std::lock_guard sl(state_mu_);
    st.connected = connected_.load();
    st.login_refused = login_refused_;
    if (last_error_) {
      st.last_error = last_error_->what();
      st.last_error_name = last_error_->name();
    }
    st.connects = connects_;
    st.reconnect_attempts = attempts_;
    st.slot = slot_;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(next_attempt_ - Clock::now());
    if (!st.connected && left.count() > 0) st.retry_in = left;
  }
  std::lock_guard pl(pool_mu_);
  st.open_sessions = open_;
  return st;
}

}  // namespace sekds::hsm
