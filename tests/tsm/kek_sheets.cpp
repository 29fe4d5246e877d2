#include "kek_sheets.h"

#include <fcntl.h>
#include <unistd.h>

#include <stdexcept>

#include "gp/crypto.h"
#include "gp/kcv.h"
#include "gp/key_component.h"

namespace sekds::test {

std::vector<std::string> write_kek_sheets(const std::string& dir, std::uint32_t index, const gp::SecureBytes& kek,
                                          const SheetOptions& o) {
  const auto type = *gp::aes_type_for_length(kek.size());
  std::vector<gp::SecureBytes> parts;
  gp::SecureBytes last = kek;
  for (unsigned c = 1; c < o.custodians; ++c) {
    parts.push_back(gp::random_secure(kek.size()));
    gp::xor_into(last, parts.back());
  }
  parts.push_back(last);
  gp::Bytes combined = gp::kcv(gp::KcvAlg::AesGp, kek);
  if (o.wrong_combined_kcv) combined[0] ^= 0x01;
  std::vector<std::string> files;
  for (unsigned c = 1; c <= o.custodians; ++c) {
    gp::ComponentSheet k;
    k.purpose = gp::ComponentPurpose::Kek;
    k.tsm = o.tsm;
    k.kek_index = (c == 2 && o.index_on_second_sheet) ? o.index_on_second_sheet : index;
    k.key_type = type;
    k.kcv_alg = gp::KcvAlg::AesGp;
    k.custodian = c;
    k.custodians = o.custodians;
    k.comments = {"TEST MATERIAL"};
    gp::ComponentShare s;
    s.value = parts[c - 1];
    s.kcv = gp::kcv(gp::KcvAlg::AesGp, s.value);
    if (c == 2 && o.wrong_component_kcv) s.kcv[2] ^= 0x01;
    if (!o.no_combined_kcv) s.combined_kcv = combined;
    k.shares.push_back(std::move(s));
    const gp::SecureText text = gp::format_key_component(k);
    const std::string path = dir + "/kek" + std::to_string(index) + "-custodian" + std::to_string(c) + ".txt";
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || ::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size()))
      throw std::runtime_error("cannot write " + path);
    ::close(fd);
    files.push_back(path);
  }
  return files;
}

}  // namespace sekds::test
