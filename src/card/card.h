// The card engine: one virtual GlobalPlatform secure element. Pure: APDU bytes in, APDU
// bytes out, its state in memory; the only side effect is the CardStore it writes through
// when state changes (before it answers). Not thread-safe: one caller at a time per card
// (the grid holds a lock per slot).
//
// What it implements (GlobalPlatform Card Specification 2.3.1, Amendment D for SCP03):
//   SELECT (by AID, partial, first/next), GET DATA ('5F50' 'CF' 'E0' 'C1' '42' '45' '66' '9F7F'),
//   INITIALIZE UPDATE / EXTERNAL AUTHENTICATE (SCP02 or SCP03 through gp::make_card_session),
//   PUT KEY, GET STATUS, INSTALL [for load / install / make selectable], LOAD, DELETE,
//   STORE DATA; basic logical channel only.
// Every command gets a status word, never an exception: a malformed APDU is 6700, an
// internal failure 6F00, a storage failure 6581.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "card/card_state.h"
#include "card/card_store.h"
#include "gp/apdu.h"
#include "gp/error.h"
#include "gp/scp_common.h"

namespace sekds::card {

class Card {
 public:
  // `store` may be null (nothing persisted). state.slot identifies the card in the store.
  Card(CardState state, CardStore* store, CardLimits limits = {});
  ~Card();
  Card(const Card&) = delete;
  Card& operator=(const Card&) = delete;

  // Answer To Reset: T=1, historical bytes "SEKDS-GP".
  static const Bytes& atr();
  // Power cycle: closes the secure channel, drops every transient state (pending LOAD,
  // STORE DATA blocks, GET STATUS paging), selects the ISD. Returns the ATR.
  const Bytes& reset();

  // One command APDU (wire bytes) in, the response APDU (data + SW) out.
  Bytes transmit(ByteView command);
  gp::ResponseApdu process(const gp::CommandApdu& command);

  int slot() const noexcept { return state_.slot; }
  const CardState& state() const noexcept { return state_; }
  bool secure_channel_open() const noexcept;
  // The security level of the open channel (NONE when closed).
  gp::SecurityLevel security_level() const noexcept;

 private:
  struct PendingLoad {
    Bytes aid;
    std::uint8_t next_block = 0;
    Bytes data;
  };
  struct PendingStoreData {
    std::uint8_t next_block = 0;
    Bytes data;
  };
  struct StatusCursor {
    std::uint8_t p1 = 0;
    bool tlv_format = false;
    Bytes criteria;
    std::size_t next = 0;  // index of the next entry to send
  };

  gp::ResponseApdu dispatch(const gp::CommandApdu& plain);
  void close_session() noexcept;
  void require_session() const;
  // SwError(6982) unless the open session's level has every bit of the card's management level.
  void require_management_level() const;
  // Writes through the store (if any); a storage failure becomes SwError(6581).
  void persist(const std::function<void(CardStore&)>& write);

  // Handlers: the plain command in, the plain response out; SwError for a refusal.
  gp::ResponseApdu select(const gp::CommandApdu& c);
  gp::ResponseApdu initialize_update(const gp::CommandApdu& c);
  gp::ResponseApdu external_authenticate(const gp::CommandApdu& c);
  gp::ResponseApdu get_data(const gp::CommandApdu& c) const;
  gp::ResponseApdu put_key(const gp::CommandApdu& c);
  gp::ResponseApdu get_status(const gp::CommandApdu& c);
  gp::ResponseApdu install(const gp::CommandApdu& c);
  gp::ResponseApdu load(const gp::CommandApdu& c);
  gp::ResponseApdu delete_object(const gp::CommandApdu& c);
  gp::ResponseApdu store_data(const gp::CommandApdu& c);

  CardState state_;
  CardStore* store_;
  CardLimits limits_;
  Bytes isd_fci_;  // SELECT response of the ISD

  // Transient (lost on reset, like RAM).
  std::optional<Bytes> selected_;  // empty optional: the ISD
  std::unique_ptr<gp::CardSession> session_;
  std::uint8_t session_kvn_ = 0;
  bool awaiting_external_authenticate_ = false;
  std::optional<PendingLoad> pending_load_;
  std::optional<PendingStoreData> pending_store_data_;
  std::optional<StatusCursor> status_cursor_;
};

// The status word for a GpError raised by the secure channel during `ins`, as
// GlobalPlatform prescribes (see card_secure_channel.cpp).
std::uint16_t secure_channel_sw(std::uint8_t ins, gp::Errc errc) noexcept;

}  // namespace sekds::card
