// A throwaway SoftHSMv2 token for tests: a private temp directory with its own softhsm2.conf
// and tokens/ (mode 0700), tokens initialised with softhsm2-util with known PINs, PIN files
// (0600), and SOFTHSM2_CONF pointing at it while the object lives (restored afterwards).
//
// SoftHSM reads SOFTHSM2_CONF when the module is initialised and does not see tokens created
// by another process until it is re-initialised: create every token (add_token) BEFORE
// opening an Hsm, keep one SoftHsmToken alive at a time in a process, and destroy the Hsm
// objects before the SoftHsmToken (the module is finalised when its last user goes away,
// so the next test starts from the next token's configuration).
#pragma once

#include <string>
#include <vector>

namespace sekds::test {

class SoftHsmToken {
 public:
  static constexpr const char* kUserPin = "123456";
  static constexpr const char* kSoPin = "12345678";

  // Creates the directory, the conf and a token labelled `label`.
  explicit SoftHsmToken(const std::string& label = "sekds-test", const std::string& user_pin = kUserPin,
                        const std::string& so_pin = kSoPin);
  ~SoftHsmToken();
  SoftHsmToken(const SoftHsmToken&) = delete;
  SoftHsmToken& operator=(const SoftHsmToken&) = delete;

  // Another token in the same token directory.
  void add_token(const std::string& label, const std::string& user_pin = kUserPin,
                 const std::string& so_pin = kSoPin);

  const std::string& dir() const noexcept { return dir_; }
  const std::string& conf() const noexcept { return conf_; }
  std::string tokens_dir() const { return dir_ + "/tokens"; }
  const std::string& label() const noexcept { return label_; }
  const std::string& user_pin() const noexcept { return user_pin_; }
  const std::string& so_pin() const noexcept { return so_pin_; }
  // "file:<dir>/user.pin" / "file:<dir>/so.pin" (files with mode 0600).
  std::string user_pin_source() const { return "file:" + dir_ + "/user.pin"; }
  std::string so_pin_source() const { return "file:" + dir_ + "/so.pin"; }
  // The serial number softhsm2-util gave the token `label` (from --show-slots).
  std::string serial(const std::string& label) const;

  // $SEKDS_PKCS11_MODULE, else /usr/lib/softhsm/libsofthsm2.so.
  static std::string module_path();

  // Runs argv[0] (looked up in PATH) with the current environment; stdout and stderr are
  // captured into *output. Returns the exit status (or 128+signal).
  static int run(const std::vector<std::string>& argv, std::string* output = nullptr,
                 const std::vector<std::string>& extra_env = {});

 private:
  std::string dir_, conf_, label_, user_pin_, so_pin_;
  std::string saved_conf_;
  bool had_conf_ = false;
};

// A fresh private directory (mkdtemp under $TMPDIR or /tmp) removed by the destructor.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "sekds-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const noexcept { return path_; }

 private:
  std::string path_;
};

// Writes `content` to `path` with `mode` (e.g. 0600).
void write_file(const std::string& path, const std::string& content, unsigned mode);

}  // namespace sekds::test
