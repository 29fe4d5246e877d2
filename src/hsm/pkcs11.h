// The one place that includes the PKCS#11 header (p11-kit's copy of the OASIS v2.40 header,
// standard member names). Everything else in src/hsm includes this file.
#pragma once

#include <p11-kit/pkcs11.h>
