// The vpcd link against a stand-in for vpcd (a TCP listener in the test speaking vpcd's
// framing): control codes, APDUs, ATR requests between APDUs, and reconnection when vpcd
// goes away. The real driver is exercised in test_pcsc.cpp.
#include <boost/test/unit_test.hpp>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "card/net.h"
#include "card/vpcd.h"
#include "card_fixture.h"
#include "gp/data_objects.h"

using namespace sekds;
using namespace sekds::test;

namespace {

// vpcd's side of one connection.
class FakeVpcd {
 public:
  explicit FakeVpcd(int fd) : fd_(fd) {}
  void send(const Bytes& payload) {
    Bytes f;
    gp::put_u16(f, static_cast<std::uint16_t>(payload.size()));
    f.insert(f.end(), payload.begin(), payload.end());
    BOOST_REQUIRE(card::send_all(fd_.get(), f.data(), f.size()));
  }
  void send_raw(const Bytes& bytes) { BOOST_REQUIRE(card::send_all(fd_.get(), bytes.data(), bytes.size())); }
  Bytes receive() {
    std::uint8_t len[2];
    read_exact(len, 2);
    Bytes p(static_cast<std::size_t>((len[0] << 8) | len[1]));
    read_exact(p.data(), p.size());
    return p;
  }
  Bytes transact(const Bytes& apdu) {
    send(apdu);
    return receive();
  }
  // True when nothing arrives within 200 ms (control codes other than 04 are not answered).
  bool silent() {
    pollfd p{fd_.get(), POLLIN, 0};
    return ::poll(&p, 1, 200) == 0;
  }

 private:
  void read_exact(std::uint8_t* p, std::size_t n) {
    while (n > 0) {
      const ssize_t r = ::recv(fd_.get(), p, n, 0);
      BOOST_REQUIRE(r > 0);
      p += r;
      n -= static_cast<std::size_t>(r);
    }
  }
  card::Fd fd_;
};

int accept_one(int listener) {
  pollfd p{listener, POLLIN, 0};
  if (::poll(&p, 1, 10000) != 1) return -1;
  return ::accept(listener, nullptr, nullptr);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(vpcd_link)

BOOST_AUTO_TEST_CASE(frames_controls_and_reconnect) {
  card::Fd listener = card::listen_tcp({"127.0.0.1", 0});
  const std::uint16_t port = card::local_port(listener.get());
  TestCard t(CardSpec{gp::Scp::Scp03, 0x70, 0x30, gp::DiversificationMethod::Kdf3});
  card::VpcdOptions o;
  o.vpcd = {"127.0.0.1", port};
  o.retry = std::chrono::milliseconds(20);
  card::VpcdLink link(t.card(), o);
  std::thread runner([&] { link.run(); });

  {
    FakeVpcd v(accept_one(listener.get()));
    v.send({0x01});                 // power on: no answer
    BOOST_TEST(v.silent());
    v.send({0x04});                 // get ATR
    BOOST_TEST(gp::to_hex(v.receive()) == gp::to_hex(card::Card::atr()));
    BOOST_TEST(gp::to_hex(v.transact(select_apdu(card::kIsdAid).encode())).substr(0, 2) == "6F");
    // A whole secure channel over the frames, with ATR requests in between as pcscd does.
    auto host = gp::make_host_session(gp::Scp::Scp03, t.keys(), {});
    const gp::Transmit tx = [&v](gp::ByteView b) {
      v.send({0x04});
      v.receive();
      return v.transact(gp::to_bytes(b));
    };
    gp::open_secure_channel(*host, tx, 0, gp::SecurityLevel(0x33));
    BOOST_TEST(gp::transmit_secure(*host, tx, get_status_apdu(0x80, 0x02)).sw == 0x9000);
    v.send({0x02});                 // reset: no answer, and the session is gone
    BOOST_TEST(v.silent());
    // (Seen through the protocol: the card belongs to the link's thread.)
    BOOST_TEST(gp::ResponseApdu::parse(v.transact(host->wrap(get_status_apdu(0x80, 0x02)))).sw == 0x6982);
    v.send({0x7E});                 // unknown control code: ignored
    BOOST_TEST(v.silent());
    // Two frames in one segment are answered in order.
    Bytes two;
    for (const Bytes& apdu : {get_data_apdu(gp::kTagKdd).encode(), get_data_apdu(gp::kTagKdd, 0x00).encode()}) {
      gp::put_u16(two, static_cast<std::uint16_t>(apdu.size()));
      two.insert(two.end(), apdu.begin(), apdu.end());
    }
    v.send_raw(two);
    BOOST_TEST(gp::to_hex(v.receive()).substr(0, 4) == "CF0A");
    BOOST_TEST(gp::to_hex(v.receive()).substr(0, 4) == "CF0A");
  }  // vpcd goes away
  {
    FakeVpcd v(accept_one(listener.get()));  // the link comes back by itself
    v.send({0x04});
    BOOST_TEST(gp::to_hex(v.receive()) == gp::to_hex(card::Card::atr()));
    BOOST_TEST(gp::ResponseApdu::parse(v.transact(get_data_apdu(gp::kTagKdd).encode())).sw == 0x9000);
    link.stop();
    runner.join();
  }
  BOOST_TEST(link.connections() == 2u);
}

BOOST_AUTO_TEST_CASE(stop_while_vpcd_is_absent) {
  // Nothing listens on this port: the link keeps retrying until stopped.
  std::uint16_t port = 0;
  {
    card::Fd l = card::listen_tcp({"127.0.0.1", 0});
    port = card::local_port(l.get());
  }
  TestCard t;
  card::VpcdOptions o;
  o.vpcd = {"127.0.0.1", port};
  o.retry = std::chrono::milliseconds(20);
  card::VpcdLink link(t.card(), o);
  std::thread runner([&] { link.run(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  link.stop();
  runner.join();
  BOOST_TEST(link.connections() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()
