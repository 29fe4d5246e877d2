#include "support/softhsm_token.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace sekds::test {

namespace {

std::string temp_root() {
  const char* t = std::getenv("TMPDIR");
  return (t != nullptr && *t != '\0') ? t : "/tmp";
}

}  // namespace

void write_file(const std::string& path, const std::string& content, unsigned mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, static_cast<mode_t>(mode));
  if (fd < 0) throw std::runtime_error("cannot create " + path + ": " + std::strerror(errno));
  ::fchmod(fd, static_cast<mode_t>(mode));
  std::size_t off = 0;
  while (off < content.size()) {
    ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n < 0) {
      ::close(fd);
      throw std::runtime_error("cannot write " + path + ": " + std::strerror(errno));
    }
    off += static_cast<std::size_t>(n);
  }
  ::close(fd);
}

TempDir::TempDir(const std::string& prefix) {
  std::string tmpl = temp_root() + "/" + prefix + "-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) throw std::runtime_error("mkdtemp failed: " + std::string(std::strerror(errno)));
  path_ = buf.data();
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string SoftHsmToken::module_path() {
  const char* m = std::getenv("SEKDS_PKCS11_MODULE");
  return (m != nullptr && *m != '\0') ? m : "/usr/lib/softhsm/libsofthsm2.so";
}

int SoftHsmToken::run(const std::vector<std::string>& argv, std::string* output,
                      const std::vector<std::string>& extra_env) {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_store;
  for (char** e = environ; *e != nullptr; ++e) env_store.emplace_back(*e);
  for (const auto& e : extra_env) env_store.push_back(e);
  std::vector<char*> env;
  for (auto& e : env_store) env.push_back(e.data());
  env.push_back(nullptr);
  pid_t pid = 0;
  int rc = ::posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), env.data());
  posix_spawn_file_actions_destroy(&fa);
  ::close(pipefd[1]);
  if (rc != 0) {
    ::close(pipefd[0]);
    throw std::runtime_error("cannot run " + argv[0] + ": " + std::strerror(rc));
  }
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(pipefd[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(pipefd[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (output != nullptr) *output = out;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

SoftHsmToken::SoftHsmToken(const std::string& label, const std::string& user_pin, const std::string& so_pin)
    : label_(label), user_pin_(user_pin), so_pin_(so_pin) {
  std::string tmpl = temp_root() + "/sekds-softhsm-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) throw std::runtime_error("mkdtemp failed: " + std::string(std::strerror(errno)));
  dir_ = buf.data();
  ::mkdir((dir_ + "/tokens").c_str(), 0700);
  conf_ = dir_ + "/softhsm2.conf";
  write_file(conf_,
             "directories.tokendir = " + dir_ + "/tokens\n"
             "objectstore.backend = file\n"
             "log.level = ERROR\n"
             "slots.removable = false\n"
             "slots.mechanisms = ALL\n"
             "library.reset_on_fork = false\n",
             0600);
  write_file(dir_ + "/user.pin", user_pin + "\n", 0600);
  write_file(dir_ + "/so.pin", so_pin + "\n", 0600);
  if (const char* c = std::getenv("SOFTHSM2_CONF")) {
    had_conf_ = true;
    saved_conf_ = c;
  }
  ::setenv("SOFTHSM2_CONF", conf_.c_str(), 1);
  add_token(label, user_pin, so_pin);
}

SoftHsmToken::~SoftHsmToken() {
  if (had_conf_)
    ::setenv("SOFTHSM2_CONF", saved_conf_.c_str(), 1);
  else
    ::unsetenv("SOFTHSM2_CONF");
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void SoftHsmToken::add_token(const std::string& label, const std::string& user_pin, const std::string& so_pin) {
  std::string out;
  int rc = run({"softhsm2-util", "--init-token", "--free", "--label", label, "--so-pin", so_pin, "--pin", user_pin},
               &out);
  if (rc != 0) throw std::runtime_error("softhsm2-util --init-token failed (" + std::to_string(rc) + "): " + out);
}

std::string SoftHsmToken::serial(const std::string& label) const {
  std::string out;
  if (run({"softhsm2-util", "--show-slots"}, &out) != 0) throw std::runtime_error("softhsm2-util --show-slots failed");
  // Blocks of "    Label: x" ... "    Serial number: y" per slot.
  std::istringstream in(out);
  std::string line, current_serial;
  std::string found;
  bool in_label = false;
  while (std::getline(in, line)) {
    auto value = [&](const char* key) -> std::optional<std::string> {
      auto p = line.find(key);
      if (p == std::string::npos) return std::nullopt;
      std::string v = line.substr(p + std::strlen(key));
      while (!v.empty() && v.front() == ' ') v.erase(v.begin());
      while (!v.empty() && (v.back() == ' ' || v.back() == '\r')) v.pop_back();
      return v;
    };
    if (auto s = value("Serial number:")) current_serial = *s;
    if (auto l = value("Label:")) in_label = (*l == label);
    if (in_label && !current_serial.empty()) {
      found = current_serial;
      break;
    }
    if (line.rfind("Slot ", 0) == 0) {
      current_serial.clear();
      in_label = false;
    }
  }
  if (found.empty()) throw std::runtime_error("no serial for token " + label);
  return found;
}

}  // namespace sekds::test
