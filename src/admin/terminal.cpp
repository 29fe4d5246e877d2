#include "admin/terminal.h"

#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <iostream>

namespace sekds::admin {

namespace {

// Reads one line byte by byte (no stdio buffer holding a copy of a secret beyond the line).
template <class String>
std::optional<String> read_raw_line() {
  String line;
  bool any = false;
  for (;;) {
    char c = 0;
    const ssize_t n = ::read(STDIN_FILENO, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    any = true;
    if (c == '\n') return line;
    line.push_back(c);
  }
  if (!any) return std::nullopt;
  return line;
}

template <class String>
void strip_cr(String& s) {
  while (!s.empty() && (s.back() == '\r')) s.pop_back();
}

// Switches terminal echo off for its lifetime.
class EchoOff {
 public:
  EchoOff() {
    if (::tcgetattr(STDIN_FILENO, &saved_) == 0) {
      termios t = saved_;
      t.c_lflag &= static_cast<tcflag_t>(~(ECHO | ECHONL));
      active_ = ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) == 0;
    }
  }
  ~EchoOff() {
    if (active_) {
      ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_);
      std::cerr << "\n";
    }
  }
  EchoOff(const EchoOff&) = delete;
  EchoOff& operator=(const EchoOff&) = delete;

 private:
  termios saved_{};
  bool active_ = false;
};

}  // namespace

bool stdin_is_terminal() noexcept { return ::isatty(STDIN_FILENO) == 1; }

std::optional<std::string> read_line(const std::string& prompt) {
  std::cerr << prompt << std::flush;
  auto line = read_raw_line<std::string>();
  if (line) strip_cr(*line);
  return line;
}

std::optional<gp::SecureText> read_secret_line(const std::string& prompt) {
  std::cerr << prompt << std::flush;
  std::optional<gp::SecureText> line;
  {
    std::optional<EchoOff> off;
    if (stdin_is_terminal()) off.emplace();
    line = read_raw_line<gp::SecureText>();
  }
  if (!stdin_is_terminal()) std::cerr << "\n";
  if (line) strip_cr(*line);
  return line;
}

bool confirm(const std::string& question) {
  auto answer = read_line(question + " [y/N] ");
  if (!answer) {
    std::cerr << "\n";
    return false;
  }
  std::string a = *answer;
  a.erase(std::remove_if(a.begin(), a.end(), [](unsigned char c) { return std::isspace(c); }), a.end());
  std::transform(a.begin(), a.end(), a.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return a == "y" || a == "yes";
}

}  // namespace sekds::admin
