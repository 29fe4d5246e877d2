// fuzz_apdu: the APDU codecs and the GET DATA object parsers of src/gp, each fed the whole
// input. What must hold:
//  - CommandApdu / ResponseApdu: an accepted APDU re-encodes to its input byte for byte;
//  - INITIALIZE UPDATE response: the same;
//  - every data object (KDD, sequence counter, URL, IIN, CIN, 'E0' key information, CPLC, card
//    recognition data): parse(encode(x)) == x for every x parsed, and the accessors agree;
// and every refusal is a GpError (any other exception escapes and libFuzzer reports it).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <optional>

#include "fuzz_check.h"
#include "gp/apdu.h"
#include "gp/data_objects.h"
#include "gp/error.h"
#include "gp/scp_common.h"

namespace {

using namespace sekds::gp;

template <class F>
void refused_by_gp_error(F&& f) {
  try {
    f();
  } catch (const GpError&) {
  }
}

void command_apdu(ByteView in) {
  refused_by_gp_error([&] {
    const CommandApdu c = CommandApdu::parse(in);
    FUZZ_CHECK(c.data.size() <= 65535, "command data longer than 65535 bytes");
    FUZZ_CHECK(!c.le || (*c.le >= 1 && *c.le <= 65536), "Le outside 1..65536");
    const Bytes enc = c.encode();
    FUZZ_CHECK(enc == Bytes(in.begin(), in.end()), "command APDU does not re-encode to its input");
    if (c.ins == kInsInitializeUpdate) refused_by_gp_error([&] {
      const auto iu = InitializeUpdateCommand::parse(c);
      FUZZ_CHECK(iu.host_challenge.size() == 8 || iu.host_challenge.size() == 16, "host challenge length");
    });
  });
  refused_by_gp_error([&] {
    const ResponseApdu r = ResponseApdu::parse(in);
    FUZZ_CHECK(r.encode() == Bytes(in.begin(), in.end()), "response APDU does not re-encode to its input");
    refused_by_gp_error([&] {
      const auto iu = InitializeUpdateResponse::parse(r.data);
      FUZZ_CHECK(iu.encode() == r.data, "INITIALIZE UPDATE response does not re-encode to its input");
    });
  });
}

template <class T>
void round_trip(ByteView in, const char* what) {
  T x;
  try {
    x = T::parse(in);
  } catch (const GpError&) {
    return;
  }
  Bytes enc;
  try {
    enc = x.encode();
  } catch (const GpError& e) {
    std::fprintf(stderr, "%s: encode() refused what parse() accepted: %s\n", what, e.what());
    FUZZ_CHECK(false, "encode() refuses what parse() accepted");
  }
  try {
    FUZZ_CHECK(T::parse(enc) == x, "parse(encode(x)) != x");
  } catch (const GpError& e) {
    std::fprintf(stderr, "%s: %s\n", what, e.what());
    FUZZ_CHECK(false, "parse() refuses the encoding of what it accepted");
  }
}

// Classes without a default constructor.
template <class T>
void round_trip_nd(ByteView in) {
  std::optional<T> x;
  try {
    x.emplace(T::parse(in));
  } catch (const GpError&) {
    return;
  }
  FUZZ_CHECK(T::parse(x->encode()) == *x, "parse(encode(x)) != x");
}

void data_objects(ByteView in) {
  round_trip_nd<Kdd>(in);

  std::optional<SequenceCounter> sc;
  refused_by_gp_error([&] { sc.emplace(SequenceCounter::parse(in)); });
  if (sc) {
    FUZZ_CHECK(sc->width() == 2 || sc->width() == 3, "sequence counter width");
    FUZZ_CHECK(sc->value_bytes().size() == sc->width(), "sequence counter value bytes");
    FUZZ_CHECK(SequenceCounter::parse(sc->encode()) == *sc, "sequence counter round trip");
  }

  std::optional<SdManagerUrl> url;
  refused_by_gp_error([&] { url.emplace(SdManagerUrl::parse(in)); });
  if (url) {
    FUZZ_CHECK(url->str().size() >= SdManagerUrl::kMinLength && url->str().size() <= SdManagerUrl::kMaxLength,
               "URL length outside its bounds");
    FUZZ_CHECK(url->scheme() == "http" || url->scheme() == "https", "URL scheme");
    FUZZ_CHECK(!url->host().empty(), "URL without a host");
    FUZZ_CHECK(!url->port() || *url->port() != 0, "URL port 0");
    FUZZ_CHECK(url->str().find('@') == std::string::npos || url->path().find('@') != std::string::npos,
               "user information accepted");
    FUZZ_CHECK(SdManagerUrl::parse(url->encode()) == *url, "URL round trip");
    try {
      const SdManagerUrl again = SdManagerUrl::from_string(url->str());
      FUZZ_CHECK(again.host() == url->host() && again.port() == url->port() && again.path() == url->path() &&
                     again.scheme() == url->scheme(),
                 "URL parsed twice gives other parts");
    } catch (const GpError&) {
      FUZZ_CHECK(false, "from_string refuses a URL it accepted");
    }
  }

  round_trip<IssuerIdentificationNumber>(in, "IIN");
  round_trip<CardImageNumber>(in, "CIN");

  // 'E0' key information, and the key set checks the service makes on it.
  std::optional<KeyInformation> ki;
  refused_by_gp_error([&] { ki.emplace(KeyInformation::parse(in)); });
  if (ki) {
    round_trip<KeyInformation>(in, "KeyInformation");
    const auto kvns = ki->key_set_versions();
    const auto usable = ki->usable_key_set_versions();
    for (std::uint8_t kvn : usable)
      FUZZ_CHECK(std::find(kvns.begin(), kvns.end(), kvn) != kvns.end(), "a usable KVN that is not listed");
    for (std::uint8_t kvn : kvns) {
      const KeySetCheck check = ki->check_key_set(kvn);
      FUZZ_CHECK(check.ok() == (std::find(usable.begin(), usable.end(), kvn) != usable.end()),
                 "usable_key_set_versions disagrees with check_key_set");
      FUZZ_CHECK(check.ok() == check.info.has_value() && check.ok() == check.detail.empty(), "KeySetCheck fields");
      bool threw = false;
      try {
        const KeySetInfo info = ki->key_set(kvn);
        FUZZ_CHECK(info.kvn == kvn && !info.key_ids.empty(), "key_set() result");
        FUZZ_CHECK(std::is_sorted(info.key_ids.begin(), info.key_ids.end()), "key ids not ascending");
      } catch (const GpError&) {
        threw = true;
      }
      FUZZ_CHECK(threw != check.ok(), "key_set() and check_key_set() disagree");
      for (const KeyInformationData* k : ki->keys_of(kvn)) {
        FUZZ_CHECK(k->kvn == kvn && !k->components.empty(), "keys_of() result");
        (void)k->symmetric_type();
        (void)key_type_code_name(k->type());
      }
    }
    FUZZ_CHECK(ki->check_key_set(0x00).problem == KeySetProblem::Absent ||
                   std::find(kvns.begin(), kvns.end(), 0x00) != kvns.end(),
               "an unlisted KVN is not Absent");
  }

  std::optional<Cplc> cplc;
  refused_by_gp_error([&] { cplc.emplace(Cplc::parse(in)); });
  if (cplc) {
    FUZZ_CHECK(Cplc::parse(cplc->encode()) == *cplc, "CPLC round trip");
    for (const CplcFieldInfo& f : Cplc::fields()) {
      FUZZ_CHECK(cplc->field(f.field).size() == f.length, "CPLC field length");
      try {
        const auto d = cplc->date(f.field);
        FUZZ_CHECK(f.is_date, "date() of a field that is not a date");
        if (d) {
          FUZZ_CHECK(d->year_digit <= 9 && d->day_of_year >= 1 && d->day_of_year <= 366, "CPLC date out of range");
          const auto enc = d->encode();
          FUZZ_CHECK(std::equal(enc.begin(), enc.end(), cplc->field(f.field).begin()), "CPLC date round trip");
          if (const auto ymd = d->resolve(2030)) {
            FUZZ_CHECK(ymd->year <= 2030 && ymd->year % 10 == d->year_digit, "resolved year");
            FUZZ_CHECK(ymd->month >= 1 && ymd->month <= 12 && ymd->day >= 1 && ymd->day <= 31, "resolved date");
          }
          (void)d->to_string();
        }
      } catch (const GpError&) {
      }
    }
  }

  std::optional<CardRecognitionData> crd;
  refused_by_gp_error([&] { crd.emplace(CardRecognitionData::parse(in)); });
  if (crd) {
    round_trip<CardRecognitionData>(in, "CardRecognitionData");
    (void)crd->gp_version_string();
    if (crd->card_identification_scheme) refused_by_gp_error([&] { (void)oid_to_string(*crd->card_identification_scheme); });
  }
  refused_by_gp_error([&] {
    const std::string s = oid_to_string(in);
    FUZZ_CHECK(!s.empty(), "empty OID text");
  });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ByteView in(data, size);
  command_apdu(in);
  data_objects(in);
  return 0;
}
