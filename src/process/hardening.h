// Process hardening: the first call in every sekds main.
//
// The programs hold secrets in memory (the server the HSM PIN, the admin CLI combined key
// components, the TSM unwrapped card keys), so none may leave a core dump or be read by a
// debugger of the same user, and files they create are private. They refuse to run as root:
// a key-release service needs no privilege, and root's CAP_IPC_LOCK / CAP_SYS_PTRACE undo
// several of these guards. CI and the dev scripts run as root and say so with SEKDS_ALLOW_ROOT=1.
#pragma once

#include <string_view>

namespace sekds::process {

// SEKDS_ALLOW_ROOT=1 lets a program run with effective uid 0. An environment variable, not a
// flag: it reaches every program and subcommand a script or test spawns, before any parsing.
inline constexpr const char* kAllowRootEnv = "SEKDS_ALLOW_ROOT";
// The exit code of a refusal to run as root (sysexits.h EX_NOPERM).
inline constexpr int kExitRefusedRoot = 77;

// PR_SET_DUMPABLE 0 (no core dump, no ptrace or /proc/PID/mem by the same uid), RLIMIT_CORE 0
// (soft and hard), umask 077; then, with effective uid 0 and no SEKDS_ALLOW_ROOT=1, prints
// "<program>: refusing to run as root ..." on stderr and exits with kExitRefusedRoot. A step the
// kernel refuses also ends the process (exit 1): running unprotected is not an option.
void harden_process(std::string_view program);

// Blocks SIGTERM and SIGINT in the calling thread, so every thread started afterwards (a
// PKCS#11 module's, a logger's) inherits the mask and only a sigwait can take them: otherwise
// a thread a network-HSM library starts would take the default action and kill the process
// without draining. Call in main before loading anything that may start threads.
void block_termination_signals();

}  // namespace sekds::process
