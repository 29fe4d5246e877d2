#include "tsm/pcsc_transport.h"

#include <winscard.h>
#include <wintypes.h>

#include <algorithm>

#include "tsm/error.h"

namespace sekds::tsm {
namespace {

[[noreturn]] void fail(const std::string& where, LONG rv) {
  throw TsmError(TsmErrc::CardTransport, where + ": " + pcsc_stringify_error(rv) + " (0x" + [&] {
    char b[16];
    std::snprintf(b, sizeof b, "%08lX", static_cast<unsigned long>(rv));
    return std::string(b);
  }() + ")", "PCSC_ERROR");
}

// pcsc-lite's SCARDCONTEXT / SCARDHANDLE are LONG-sized integers; we keep them as intptr_t so
// the header does not need winscard.h.
SCARDCONTEXT ctx_of(std::intptr_t v) { return static_cast<SCARDCONTEXT>(v); }
SCARDHANDLE card_of(std::intptr_t v) { return static_cast<SCARDHANDLE>(v); }

std::vector<std::string> readers_of(SCARDCONTEXT ctx) {
  DWORD len = 0;
  LONG rv = SCardListReaders(ctx, nullptr, nullptr, &len);
  if (rv == SCARD_E_NO_READERS_AVAILABLE) return {};
  if (rv != SCARD_S_SUCCESS) fail("pcsc: SCardListReaders", rv);
  std::string buf(len, '\0');
  rv = SCardListReaders(ctx, nullptr, buf.data(), &len);
  if (rv == SCARD_E_NO_READERS_AVAILABLE) return {};
  if (rv != SCARD_S_SUCCESS) fail("pcsc: SCardListReaders", rv);
  std::vector<std::string> out;
  for (std::size_t pos = 0; pos < buf.size() && buf[pos] != '\0';) {
    std::string name(buf.c_str() + pos);
    pos += name.size() + 1;
    out.push_back(std::move(name));
  }
  return out;
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& r : v) s += (s.empty() ? "'" : ", '") + r + "'";
  return s.empty() ? "none" : s;
}

}  // namespace

std::vector<std::string> PcscTransport::list_readers() {
  SCARDCONTEXT ctx = 0;
  LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &ctx);
  if (rv != SCARD_S_SUCCESS) fail("pcsc: SCardEstablishContext (is pcscd running?)", rv);
  try {
    auto r = readers_of(ctx);
    SCardReleaseContext(ctx);
    return r;
  } catch (...) {
    SCardReleaseContext(ctx);
    throw;
  }
}

PcscTransport::PcscTransport(const std::string& reader) : reader_(reader) {
  SCARDCONTEXT ctx = 0;
  LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &ctx);
  if (rv != SCARD_S_SUCCESS) fail("pcsc:" + reader + ": SCardEstablishContext (is pcscd running?)", rv);
  context_ = static_cast<std::intptr_t>(ctx);
  try {
    const auto readers = readers_of(ctx);
    if (std::find(readers.begin(), readers.end(), reader) == readers.end()) {
      std::vector<std::string> hits;
      for (const auto& r : readers)
        if (r.find(reader) != std::string::npos) hits.push_back(r);
      if (hits.empty())
        throw TsmError(TsmErrc::CardTransport, "pcsc:" + reader + ": no such reader (readers: " + joined(readers) + ")",
                       "PCSC_NO_READER");
      if (hits.size() > 1)
        throw TsmError(TsmErrc::Usage, "pcsc:" + reader + ": matches several readers (" + joined(hits) + "); name one",
                       "PCSC_AMBIGUOUS_READER");
      reader_ = hits.front();
    }
    SCARDHANDLE card = 0;
    DWORD proto = 0;
    rv = SCardConnect(ctx, reader_.c_str(), SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &card, &proto);
    if (rv != SCARD_S_SUCCESS) fail("pcsc:" + reader_ + ": SCardConnect", rv);
    card_ = static_cast<std::intptr_t>(card);
    connected_ = true;
    protocol_t1_ = proto == SCARD_PROTOCOL_T1;
  } catch (...) {
    SCardReleaseContext(ctx);
    throw;
  }
}

PcscTransport::~PcscTransport() {
  if (connected_) SCardDisconnect(card_of(card_), SCARD_RESET_CARD);
  SCardReleaseContext(ctx_of(context_));
}

gp::Bytes PcscTransport::transmit_raw(gp::ByteView command) {
  std::uint8_t rbuf[65536 + 2];
  DWORD rlen = sizeof rbuf;
  const SCARD_IO_REQUEST* pci = protocol_t1_ ? SCARD_PCI_T1 : SCARD_PCI_T0;
  LONG rv = SCardTransmit(card_of(card_), pci, command.data(), static_cast<DWORD>(command.size()), nullptr, rbuf, &rlen);
  if (rv != SCARD_S_SUCCESS) fail(describe() + ": SCardTransmit", rv);
  return gp::Bytes(rbuf, rbuf + rlen);
}

gp::Bytes PcscTransport::transmit(gp::ByteView command) {
  try {
    return transmit_complete([this](gp::ByteView c) { return transmit_raw(c); }, command);
  } catch (const TsmError& e) {
    if (e.code() == TsmErrc::CardData) throw TsmError(e.code(), describe() + ": " + e.what(), e.name());
    throw;
  }
}

gp::Bytes PcscTransport::reset() {
  DWORD proto = 0;
  LONG rv = SCardReconnect(card_of(card_), SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, SCARD_RESET_CARD,
                           &proto);
  if (rv != SCARD_S_SUCCESS) fail(describe() + ": SCardReconnect", rv);
  protocol_t1_ = proto == SCARD_PROTOCOL_T1;
  std::uint8_t atr[MAX_ATR_SIZE];
  DWORD atr_len = sizeof atr, state = 0, p = 0;
  char name[512];
  DWORD name_len = sizeof name;
  rv = SCardStatus(card_of(card_), name, &name_len, &state, &p, atr, &atr_len);
  if (rv != SCARD_S_SUCCESS) fail(describe() + ": SCardStatus", rv);
  return gp::Bytes(atr, atr + atr_len);
}

}  // namespace sekds::tsm
