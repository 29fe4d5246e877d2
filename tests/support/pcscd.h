// A private pcscd for one test: its own reader configuration (vsmartcard's vpcd driver on a
// free pair of TCP ports), its own client socket, in the foreground as a child process,
// stopped (SIGTERM) by the destructor.
//
// How the private socket works on pcsc-lite 1.9.9 (verified on Debian 12):
// - the CLIENT library reads PCSCLITE_CSOCK_NAME (once per process: it caches the name);
// - the DAEMON does NOT read it (it always creates /run/pcscd/pcscd.comm), but it accepts a
//   listening socket passed by systemd socket activation (LISTEN_FDS=1, LISTEN_PID, fd 3).
// So the fixture creates and binds the socket itself, hands it to pcscd as fd 3, and sets
// PCSCLITE_CSOCK_NAME for this process (and the children it starts afterwards). Because the
// client library caches the name, every PrivatePcscd of one process uses the same socket path.
// pcscd still writes /run/pcscd/pcscd.pid and cleans /run/pcscd when it exits, so tests that
// use this fixture must not run next to each other, nor next to a system pcscd: give their
// ctest entries `RESOURCE_LOCK pcscd`.
//
// vpcd listens on 0.0.0.0 (its driver does not offer a loopback-only bind): reader slot k is
// on vpcd_port() + k; a card connects there (sekds-card serve --vpcd 127.0.0.1:PORT --slot N).
//
// Link the CMake target sekds_test_pcscd (defined in tests/card/CMakeLists.txt) and libpcsclite
// (PkgConfig::PCSCLITE) for the client side.
//
// If pcscd cannot start, the constructor throws std::runtime_error with a loud message that
// says why (missing pcscd or driver, no free ports, pcscd exited, not ready in time) and
// carries pcscd's log: the test fails, it never passes silently.
#pragma once

#include <cstdint>
#include <string>
#include <sys/types.h>

namespace sekds::test {

class PrivatePcscd {
 public:
  static constexpr unsigned kReaderSlots = 2;            // what libifdvpcd 0.8 opens per reader line
  static constexpr const char* kFriendlyName = "sekds vpcd";

  PrivatePcscd();
  ~PrivatePcscd();
  PrivatePcscd(const PrivatePcscd&) = delete;
  PrivatePcscd& operator=(const PrivatePcscd&) = delete;

  // TCP port of vpcd's reader slot `index` (0 or 1).
  std::uint16_t vpcd_port(unsigned index = 0) const noexcept { return static_cast<std::uint16_t>(port_ + index); }
  // The PC/SC reader name of that slot, as SCardListReaders shows it ("sekds vpcd 00 00").
  std::string reader_name(unsigned index = 0) const;
  // The client socket (the value of PCSCLITE_CSOCK_NAME).
  static const std::string& socket_path();
  // pcscd's output so far (it runs with -f -i).
  std::string log() const;
  pid_t pid() const noexcept { return pid_; }

 private:
  [[noreturn]] void fail(const std::string& why);
  void stop() noexcept;

  std::string dir_;  // this instance: reader.conf.d and the log
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace sekds::test
