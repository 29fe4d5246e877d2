// Process-wide set-up shared by the server and the client.
#pragma once

namespace sekds::service {

// Initialises gSOAP's OpenSSL layer once and ignores SIGPIPE (TLS writes to a peer that has
// closed would otherwise kill the process, TOOLCHAIN gotcha 3). Call from main before starting
// threads; Client's constructor calls it too. Idempotent.
void ssl_init();

}  // namespace sekds::service
