// STORE DATA (GP 2.3.1 §11.11) to the ISD: numbered blocks (P2 from 00, P1 b8 on the last)
// make one message, which the card keeps as one record. Bounded per message and per card.
#include "card/card.h"
#include "card/sw.h"

namespace sekds::card {

gp::ResponseApdu Card::store_data(const gp::CommandApdu& c) {
  constexpr std::uint8_t kLastBlock = 0x80;
  // P1 b7-b4 (encryption and structure information) describe the data; the card keeps it as sent.
  if ((c.p1 & 0x01) != 0) throw SwError(gp::kSwIncorrectP1P2, "STORE DATA P1 b1 is RFU");
  if (c.data.empty()) throw SwError(gp::kSwWrongLength, "STORE DATA without data");
  if (!pending_store_data_) pending_store_data_ = PendingStoreData{};
  PendingStoreData& p = *pending_store_data_;
  if (c.p2 != p.next_block) {
    pending_store_data_.reset();
    throw SwError(gp::kSwIncorrectP1P2, "STORE DATA block number out of sequence");
  }
  if (p.data.size() + c.data.size() > limits_.max_store_data_message) {
    pending_store_data_.reset();
    throw SwError(kSwNotEnoughMemory, "STORE DATA message larger than this card accepts");
  }
  p.data.insert(p.data.end(), c.data.begin(), c.data.end());
  ++p.next_block;
  if ((c.p1 & kLastBlock) == 0) {
    if (p.next_block == 0) {
      pending_store_data_.reset();
      throw SwError(kSwNotEnoughMemory, "STORE DATA: more than 256 blocks");
    }
    return gp::ResponseApdu{{}, gp::kSwNoError};
  }
  Bytes record = std::move(p.data);
  pending_store_data_.reset();
  if (state_.store_data.size() >= limits_.max_store_data_records ||
      state_.store_data_bytes() + record.size() > limits_.max_store_data_total)
    throw SwError(kSwNotEnoughMemory, "STORE DATA: the card's store is full");
  persist([&](CardStore& s) { s.append_store_data(state_.slot, record); });
  state_.store_data.push_back(std::move(record));
  return gp::ResponseApdu{{}, gp::kSwNoError};
}

}  // namespace sekds::card
