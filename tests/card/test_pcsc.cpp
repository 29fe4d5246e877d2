// A virtual card as a PC/SC reader: a private pcscd with the vpcd driver, `sekds-card serve
// --vpcd`, and a PC/SC client in this process (libpcsclite: SCardEstablishContext,
// SCardConnect, SCardTransmit) that selects the ISD, reads GET DATA 'CF' and opens SCP03.
// Run as its own ctest entry (card_pcsc) with RESOURCE_LOCK pcscd.
#include <boost/test/unit_test.hpp>

#include <PCSC/winscard.h>
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "card/sqlite_card_store.h"
#include "card_fixture.h"
#include "child_process.h"
#include "gp/data_objects.h"
#include "support/pcscd.h"
#include "support/softhsm_token.h"

using namespace sekds;
using namespace sekds::test;

namespace {

std::string pcsc_error(LONG rv) { return pcsc_stringify_error(rv); }

// One PC/SC context and card handle.
class PcscCard {
 public:
  PcscCard() {
    const LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, nullptr, nullptr, &ctx_);
    if (rv != SCARD_S_SUCCESS) throw std::runtime_error("SCardEstablishContext: " + pcsc_error(rv));
  }
  ~PcscCard() {
    if (card_ != 0) SCardDisconnect(card_, SCARD_LEAVE_CARD);
    SCardReleaseContext(ctx_);
  }
  PcscCard(const PcscCard&) = delete;
  PcscCard& operator=(const PcscCard&) = delete;

  std::vector<std::string> readers() {
    DWORD len = 0;
    if (SCardListReaders(ctx_, nullptr, nullptr, &len) != SCARD_S_SUCCESS) return {};
    std::string buf(len, '\0');
    if (SCardListReaders(ctx_, nullptr, buf.data(), &len) != SCARD_S_SUCCESS) return {};
    std::vector<std::string> out;
    for (const char* p = buf.c_str(); *p != '\0'; p += std::strlen(p) + 1) out.emplace_back(p);
    return out;
  }

  // Waits (up to 20 s) until the reader reports a card present.
  bool wait_present(const std::string& reader) {
    SCARD_READERSTATE st{};
    st.szReader = reader.c_str();
    st.dwCurrentState = SCARD_STATE_UNAWARE;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      const LONG rv = SCardGetStatusChange(ctx_, 1000, &st, 1);
      if (rv == SCARD_S_SUCCESS && (st.dwEventState & SCARD_STATE_PRESENT) != 0) return true;
      if (rv == SCARD_S_SUCCESS) st.dwCurrentState = st.dwEventState;
    }
    return false;
  }

  void connect(const std::string& reader) {
    DWORD protocol = 0;
    const LONG rv = SCardConnect(ctx_, reader.c_str(), SCARD_SHARE_EXCLUSIVE, SCARD_PROTOCOL_T1, &card_, &protocol);
    if (rv != SCARD_S_SUCCESS) throw std::runtime_error("SCardConnect: " + pcsc_error(rv));
    protocol_ = protocol;
  }

  Bytes atr() {
    char name[256];
    DWORD name_len = sizeof name, state = 0, protocol = 0, atr_len = MAX_ATR_SIZE;
    std::uint8_t atr[MAX_ATR_SIZE];
    if (SCardStatus(card_, name, &name_len, &state, &protocol, atr, &atr_len) != SCARD_S_SUCCESS) return {};
    return Bytes(atr, atr + atr_len);
  }

  Bytes transmit(gp::ByteView apdu) {
    std::uint8_t rx[65538];
    DWORD rx_len = sizeof rx;
    const SCARD_IO_REQUEST* pci = protocol_ == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
    const LONG rv = SCardTransmit(card_, pci, apdu.data(), static_cast<DWORD>(apdu.size()), nullptr, rx, &rx_len);
    if (rv != SCARD_S_SUCCESS) throw std::runtime_error("SCardTransmit: " + pcsc_error(rv));
    return Bytes(rx, rx + rx_len);
  }
  DWORD protocol() const { return protocol_; }

 private:
  SCARDCONTEXT ctx_ = 0;
  SCARDHANDLE card_ = 0;
  DWORD protocol_ = 0;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(pcsc)

BOOST_AUTO_TEST_CASE(select_get_data_and_scp03_through_pcsc_lite) {
  PrivatePcscd pcscd;  // throws (the test fails loudly) if pcscd cannot start

  TempDir dir("sekds-card-pcsc");
  const std::string db = dir.path() + "/grid.db";
  const CardSpec spec{gp::Scp::Scp03, 0x70, 0x30, gp::DiversificationMethod::Kdf3};
  Bytes kdd;
  {
    card::SqliteCardStore store(db);
    const auto cards = card::personalise(store, profile_for(spec), master_for(spec), 2);
    kdd = cards.at(1).identity.kdd;
  }
  ChildProcess serve({SEKDS_CARD_BIN, "serve", "--db", db, "--vpcd", "127.0.0.1:" + std::to_string(pcscd.vpcd_port(0)),
                      "--slot", "2"});
  BOOST_REQUIRE_MESSAGE(serve.read_line().has_value(), "sekds-card serve did not start: " + serve.stderr_text());

  {
    PcscCard pc;
    const auto readers = pc.readers();
    BOOST_TEST_MESSAGE("readers: " << readers.size());
    BOOST_REQUIRE_MESSAGE(std::find(readers.begin(), readers.end(), pcscd.reader_name(0)) != readers.end(),
                          "reader '" + pcscd.reader_name(0) + "' not listed; pcscd log:\n" + pcscd.log());
    BOOST_REQUIRE_MESSAGE(pc.wait_present(pcscd.reader_name(0)),
                          "no card in the reader; sekds-card stderr:\n" + serve.stderr_text() + "\npcscd log:\n" + pcscd.log());
    pc.connect(pcscd.reader_name(0));
    BOOST_TEST(pc.protocol() == static_cast<DWORD>(SCARD_PROTOCOL_T1));
    BOOST_TEST(gp::to_hex(pc.atr()) == gp::to_hex(card::Card::atr()));

    auto r = gp::ResponseApdu::parse(pc.transmit(select_apdu(card::kIsdAid).encode()));
    BOOST_TEST(r.sw == 0x9000);
    BOOST_TEST(gp::to_hex(gp::parse_tlv(r.data).require(0x84).value) == "A000000151000000");

    r = gp::ResponseApdu::parse(pc.transmit(get_data_apdu(gp::kTagKdd).encode()));
    BOOST_TEST(r.sw == 0x9000);
    BOOST_TEST(gp::to_hex(gp::Kdd::parse(r.data).bytes()) == gp::to_hex(kdd));

    const gp::Transmit tx = [&pc](gp::ByteView b) { return pc.transmit(b); };
    auto host = gp::make_host_session(gp::Scp::Scp03, derive_keys(spec, kdd), {0x55, false, card::kIsdAid});
    gp::open_secure_channel(*host, tx, 0, gp::SecurityLevel(0x33));
    BOOST_TEST(host->is_open());
    r = gp::transmit_secure(*host, tx, get_status_apdu(0x80, 0x02));
    BOOST_TEST(r.sw == 0x9000);
    r = gp::transmit_secure(*host, tx, get_data_apdu(gp::kTagSequenceCounter));
    BOOST_TEST(gp::SequenceCounter::parse(r.data).value() == 1u);
  }

  serve.signal(SIGTERM);
  BOOST_TEST(serve.wait().value_or(-1) == 0);
  // The counter advanced by the handshake is in the file.
  card::SqliteCardStore store(db);
  BOOST_TEST(store.load_all().at(1).key_sets.at(spec.kvn).counter == 1u);
}

BOOST_AUTO_TEST_CASE(private_pcscd_twice_in_one_process) {
  // The client library caches the socket name per process: a second private pcscd must serve
  // the same path, and a new context must reach it.
  for (int round = 0; round < 2; ++round) {
    BOOST_TEST_CONTEXT("round " << round) {
      PrivatePcscd pcscd;
      BOOST_TEST(std::string(std::getenv("PCSCLITE_CSOCK_NAME")) == PrivatePcscd::socket_path());
      PcscCard pc;
      const auto readers = pc.readers();
      BOOST_TEST(readers.size() == PrivatePcscd::kReaderSlots);
      BOOST_TEST((std::find(readers.begin(), readers.end(), pcscd.reader_name(1)) != readers.end()));
      BOOST_TEST(::kill(pcscd.pid(), 0) == 0);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
