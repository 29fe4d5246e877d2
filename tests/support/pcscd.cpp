#include "support/pcscd.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

extern char** environ;

namespace sekds::test {

namespace {

constexpr const char* kPcscd = "/usr/sbin/pcscd";
constexpr const char* kVpcdDriver = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so";
constexpr const char* kReadyLine = "daemon ready";
constexpr auto kReadyTimeout = std::chrono::seconds(15);
constexpr auto kStopTimeout = std::chrono::seconds(5);

std::string temp_root() {
  const char* t = std::getenv("TMPDIR");
  return (t != nullptr && *t != '\0') ? t : "/tmp";
}

std::string make_temp_dir(const std::string& prefix) {
  std::string tmpl = temp_root() + "/" + prefix + "-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) throw std::runtime_error("PRIVATE PCSCD: mkdtemp failed: " + std::string(std::strerror(errno)));
  return buf.data();
}

// The per-process socket directory, removed when the process ends.
struct SocketDir {
  std::string dir = make_temp_dir("sekds-pcscd-sock");
  std::string path = dir + "/pcscd.comm";
  ~SocketDir() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

SocketDir& socket_dir() {
  static SocketDir d;
  return d;
}

bool bindable(std::uint16_t port) {
  const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_ANY);  // where vpcd binds
  a.sin_port = htons(port);
  const bool ok = ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(s);
  return ok;
}

// A port p the kernel considers free, with p+1 free too (vpcd opens port + slot).
std::uint16_t free_port_pair() {
  for (int attempt = 0; attempt < 100; ++attempt) {
    const int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) break;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_ANY);
    socklen_t len = sizeof a;
    std::uint16_t p = 0;
    if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) == 0)
      p = ntohs(a.sin_port);
    ::close(s);
    if (p != 0 && p < 65535 - PrivatePcscd::kReaderSlots && bindable(p) && bindable(static_cast<std::uint16_t>(p + 1)))
      return p;
  }
  return 0;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

const std::string& PrivatePcscd::socket_path() { return socket_dir().path; }

std::string PrivatePcscd::reader_name(unsigned index) const {
  return std::string(kFriendlyName) + " 00 0" + std::to_string(index);
}

std::string PrivatePcscd::log() const { return read_file(dir_ + "/pcscd.log"); }

void PrivatePcscd::fail(const std::string& why) {
  const std::string output = dir_.empty() ? std::string() : log();
  stop();
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  throw std::runtime_error("\n*** PRIVATE PCSCD COULD NOT START: " + why +
                           "\n*** The PC/SC tests need pcscd (package pcscd) and the vpcd driver (package "
                           "vsmartcard-vpcd).\n*** pcscd output:\n" +
                           output);
}

PrivatePcscd::PrivatePcscd() {
  if (::access(kPcscd, X_OK) != 0) fail(std::string(kPcscd) + " is missing or not executable");
  if (::access(kVpcdDriver, R_OK) != 0) fail(std::string(kVpcdDriver) + " is missing");
  dir_ = make_temp_dir("sekds-pcscd");
  const std::string conf_dir = dir_ + "/reader.conf.d";
  ::mkdir(conf_dir.c_str(), 0700);
  port_ = free_port_pair();
  if (port_ == 0) fail("no free pair of TCP ports for vpcd");
  {
    std::ofstream conf(conf_dir + "/sekds-vpcd");
    conf << "FRIENDLYNAME \"" << kFriendlyName << "\"\n"
         << "DEVICENAME   /dev/null:" << port_ << "\n"
         << "LIBPATH      " << kVpcdDriver << "\n"
         << "CHANNELID    " << port_ << "\n";
    if (!conf) fail("cannot write the reader configuration in " + conf_dir);
  }

  // The client socket, bound here and passed to pcscd by socket activation.
  const std::string& path = socket_path();
  ::unlink(path.c_str());
  const int sock = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un su{};
  su.sun_family = AF_UNIX;
  std::strncpy(su.sun_path, path.c_str(), sizeof su.sun_path - 1);
  if (sock < 0 || ::bind(sock, reinterpret_cast<sockaddr*>(&su), sizeof su) != 0 || ::listen(sock, 64) != 0) {
    const std::string err = std::strerror(errno);
    if (sock >= 0) ::close(sock);
    fail("cannot create the socket " + path + ": " + err);
  }
  ::chmod(path.c_str(), 0600);
  const std::string log_path = dir_ + "/pcscd.log";
  const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (log_fd < 0) {
    ::close(sock);
    fail("cannot create " + log_path);
  }

  // Everything the child needs is built before fork(): after it only async-signal-safe calls.
  // sh sets LISTEN_PID to its own pid, which pcscd keeps through exec.
  const std::string script = std::string("LISTEN_PID=$$; export LISTEN_PID; exec ") + kPcscd + " -f -i -c \"$1\"";
  std::vector<std::string> args{"/bin/sh", "-c", script, "sh", conf_dir};
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view v(*e);
    if (v.rfind("LISTEN_", 0) == 0) continue;
    env.emplace_back(v);
  }
  env.emplace_back("LISTEN_FDS=1");
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    if (sock == 3) {
      ::fcntl(3, F_SETFD, 0);
    } else {
      ::dup2(sock, 3);  // dup2 clears FD_CLOEXEC on 3
    }
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  const int fork_errno = errno;
  ::close(sock);
  ::close(log_fd);
  if (pid < 0) fail(std::string("fork failed: ") + std::strerror(fork_errno));
  pid_ = pid;

  const auto deadline = std::chrono::steady_clock::now() + kReadyTimeout;
  for (;;) {
    if (log().find(kReadyLine) != std::string::npos) break;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      fail("pcscd exited before it was ready (status " + std::to_string(status) + ")");
    }
    if (std::chrono::steady_clock::now() > deadline) fail("pcscd did not say it was ready within 15 s");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::setenv("PCSCLITE_CSOCK_NAME", path.c_str(), 1);
}

void PrivatePcscd::stop() noexcept {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + kStopTimeout;
  int status = 0;
  while (::waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pid_ = -1;
  ::unlink(socket_path().c_str());
}

PrivatePcscd::~PrivatePcscd() {
  stop();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

}  // namespace sekds::test
