#include "gp/scp_common.h"

#include <cstdio>

#include "gp/error.h"
#include "gp/scp02.h"
#include "gp/scp03.h"

namespace sekds::gp {

const char* scp_name(Scp s) noexcept {
  switch (s) {
    case Scp::Scp02: return "SCP02";
    case Scp::Scp03: return "SCP03";
  }
  return "?";
}

bool SecurityLevel::valid(std::uint8_t b) noexcept {
  switch (b) {
    case 0x00:
    case 0x01:
    case 0x03:
    case 0x11:
    case 0x13:
    case 0x33: return true;
    default: return false;
  }
}

SecurityLevel::SecurityLevel(std::uint8_t b) : b_(b) {
  if (!valid(b)) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%02X", b);
    throw GpError(Errc::InvalidArgument, std::string("security level '") + buf +
                                             "' is not one of 00, 01, 03, 11, 13, 33");
  }
}

std::string SecurityLevel::to_string() const {
  std::string s;
  auto add = [&s](bool on, const char* name) {
    if (!on) return;
    if (!s.empty()) s += '+';
    s += name;
  };
  add(c_mac(), "C-MAC");
  add(c_decryption(), "C-DECRYPTION");
  add(r_mac(), "R-MAC");
  add(r_encryption(), "R-ENCRYPTION");
  return s.empty() ? "NONE" : s;
}

CommandApdu InitializeUpdateCommand::to_apdu() const {
  return CommandApdu(kClaGp, kInsInitializeUpdate, kvn, key_id, host_challenge, 256u);
}

InitializeUpdateCommand InitializeUpdateCommand::parse(const CommandApdu& cmd) {
  if ((cmd.cla & 0x80) == 0 || cmd.ins != kInsInitializeUpdate)
    throw GpError(Errc::ApduMalformed, "not an INITIALIZE UPDATE command");
  if (cmd.data.size() != 8 && cmd.data.size() != 16)
    throw GpError(Errc::InvalidLength,
                  "INITIALIZE UPDATE host challenge must be 8 or 16 bytes, got " + std::to_string(cmd.data.size()));
  InitializeUpdateCommand c;
  c.kvn = cmd.p1;
  c.key_id = cmd.p2;
  c.host_challenge = cmd.data;
  return c;
}

Bytes InitializeUpdateResponse::encode() const {
  Bytes out(kdd);
  out.push_back(kvn);
  out.push_back(static_cast<std::uint8_t>(scp));
  if (scp == Scp::Scp02) {
    put_u16(out, static_cast<std::uint16_t>(sequence_counter.value_or(0)));
  } else {
    out.push_back(i);
  }
  out.insert(out.end(), card_challenge.begin(), card_challenge.end());
  out.insert(out.end(), card_cryptogram.begin(), card_cryptogram.end());
  if (scp == Scp::Scp03 && sequence_counter) {
    const std::uint32_t c = *sequence_counter;
    out.push_back(static_cast<std::uint8_t>(c >> 16));
    out.push_back(static_cast<std::uint8_t>(c >> 8));
    out.push_back(static_cast<std::uint8_t>(c));
  }
  return out;
}

InitializeUpdateResponse InitializeUpdateResponse::parse(ByteView d) {
  if (d.size() < 12)
    throw GpError(Errc::InvalidLength, "INITIALIZE UPDATE response of " + std::to_string(d.size()) + " bytes is too short");
  InitializeUpdateResponse r;
  r.kdd.assign(d.begin(), d.begin() + 10);
  r.kvn = d[10];
  const std::uint8_t scp = d[11];
  if (scp == 0x02) {
    r.scp = Scp::Scp02;
    if (d.size() != 28)
      throw GpError(Errc::InvalidLength, "SCP02 INITIALIZE UPDATE response must be 28 bytes, got " + std::to_string(d.size()));
    r.sequence_counter = read_be(d.subspan(12, 2));
    r.card_challenge.assign(d.begin() + 14, d.begin() + 20);
    r.card_cryptogram.assign(d.begin() + 20, d.end());
    return r;
  }
  if (scp != 0x03) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%02X", scp);
    throw GpError(Errc::Unsupported, std::string("INITIALIZE UPDATE response names SCP '") + buf + "'");
  }
  r.scp = Scp::Scp03;
  if (d.size() < 13)  // 'i' is byte 12; fuzzing found the 12-byte case read past the end (F1)
    throw GpError(Errc::InvalidLength, "SCP03 INITIALIZE UPDATE response of 12 bytes has no 'i' parameter");
  r.i = d[12];
  const std::size_t n = (r.i & 0x01) != 0 ? 16 : 8;  // i bit 1: S16 mode
  const std::size_t base = 13 + 2 * n;
  if (d.size() != base && d.size() != base + 3)
    throw GpError(Errc::InvalidLength, "SCP03 (S" + std::to_string(n) + ") INITIALIZE UPDATE response must be " +
                                           std::to_string(base) + " or " + std::to_string(base + 3) + " bytes, got " +
                                           std::to_string(d.size()));
  r.card_challenge.assign(d.begin() + 13, d.begin() + static_cast<std::ptrdiff_t>(13 + n));
  r.card_cryptogram.assign(d.begin() + static_cast<std::ptrdiff_t>(13 + n), d.begin() + static_cast<std::ptrdiff_t>(base));
  if (d.size() == base + 3) r.sequence_counter = read_be(d.subspan(base, 3));
  return r;
}

std::unique_ptr<HostSession> make_host_session(Scp scp, StaticKeys keys, const HostSessionOptions& options) {
  if (scp == Scp::Scp02) {
    if (options.s16) throw GpError(Errc::InvalidArgument, "S16 mode exists only in SCP03");
    return std::make_unique<Scp02Host>(std::move(keys), Scp02HostOptions{options.scp02_i, options.aid});
  }
  return std::make_unique<Scp03Host>(std::move(keys), Scp03HostOptions{options.s16, options.aid});
}

std::unique_ptr<CardSession> make_card_session(Scp scp, StaticKeys keys, const CardSessionOptions& options) {
  if (scp == Scp::Scp02) {
    if (options.sequence_counter > 0xFFFF) throw GpError(Errc::InvalidArgument, "SCP02 sequence counter is 2 bytes");
    Scp02CardOptions o;
    o.i = options.i;
    o.kvn = options.kvn;
    o.kdd = options.kdd;
    o.sequence_counter = static_cast<std::uint16_t>(options.sequence_counter);
    o.aid = options.aid;
    return std::make_unique<Scp02Card>(std::move(keys), std::move(o));
  }
  Scp03CardOptions o;
  o.i = options.i;
  o.kvn = options.kvn;
  o.kdd = options.kdd;
  o.sequence_counter = options.sequence_counter;
  o.aid = options.aid;
  return std::make_unique<Scp03Card>(std::move(keys), std::move(o));
}

ResponseApdu HostSession::unwrap(ByteView response) {
  ResponseApdu r;
  try {
    r = ResponseApdu::parse(response);
  } catch (const GpError&) {
    close();
    throw;
  }
  return unwrap(r);
}

CommandApdu CardSession::unwrap(ByteView wrapped) {
  CommandApdu c;
  try {
    c = CommandApdu::parse(wrapped);
  } catch (const GpError&) {
    close();
    throw;
  }
  return unwrap(c);
}

void open_secure_channel(HostSession& session, const Transmit& transmit, std::uint8_t kvn, SecurityLevel level) {
  const Bytes iu = session.initialize_update(kvn).encode();
  const ResponseApdu iu_resp = ResponseApdu::parse(transmit(iu));
  const Bytes ea = session.external_authenticate(iu_resp, level);
  session.confirm_external_authenticate(ResponseApdu::parse(transmit(ea)));
}

ResponseApdu transmit_secure(HostSession& session, const Transmit& transmit, const CommandApdu& plain) {
  const Bytes wrapped = session.wrap(plain);
  return session.unwrap(ResponseApdu::parse(transmit(wrapped)));
}

namespace detail {

void append_lc(Bytes& out, std::size_t lc, bool extended) {
  if (extended) {
    if (lc > 0xFFFF) throw GpError(Errc::ApduMalformed, "command data longer than 65535 bytes");
    out.push_back(0x00);
    put_u16(out, static_cast<std::uint16_t>(lc));
  } else {
    if (lc > 0xFF) throw GpError(Errc::ApduMalformed, "short APDU with Lc above 255");
    out.push_back(static_cast<std::uint8_t>(lc));
  }
}

void append_length(Bytes& out, std::size_t n) { append_lc(out, n, n > 0xFF); }

void require_length(ByteView v, std::size_t n, const char* what) {
  if (v.size() != n)
    throw GpError(Errc::InvalidLength, std::string(what) + " must be " + std::to_string(n) + " bytes, got " +
                                           std::to_string(v.size()));
}

Bytes strip_padding(ByteView padded, std::size_t block) {
  if (padded.empty() || padded.size() % block != 0)
    throw GpError(Errc::PaddingInvalid, "padded data is not a whole number of blocks");
  std::size_t i = padded.size();
  const std::size_t floor = padded.size() - block;
  while (i > floor && padded[i - 1] == 0x00) --i;
  if (i == floor || padded[i - 1] != 0x80)
    throw GpError(Errc::PaddingInvalid, "ISO 9797-1 method 2 padding not found in the last block");
  return Bytes(padded.begin(), padded.begin() + static_cast<std::ptrdiff_t>(i - 1));
}

}  // namespace detail

}  // namespace sekds::gp
