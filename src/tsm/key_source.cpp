#include "tsm/key_source.h"

#include <cstdio>

#include "tsm/error.h"

namespace sekds::tsm {

std::string kvn_text(std::uint8_t kvn) {
  char b[16];
  std::snprintf(b, sizeof b, "KVN %02X", kvn);
  return b;
}

std::uint8_t choose_kvn(const CardInfo& card, std::optional<std::uint8_t> kvn, std::optional<std::uint8_t> exclude) {
  const auto usable = card.key_set_versions();
  if (kvn) {
    const gp::KeySetCheck c = card.key_information.check_key_set(*kvn);
    if (!c.ok())
      throw TsmError(TsmErrc::Usage, card.card + ": " + kvn_text(*kvn) + " is not a usable key set of the card (" +
                                         gp::key_set_problem_name(c.problem) + (c.detail.empty() ? "" : ": " + c.detail) +
                                         ")");
    return *kvn;
  }
  std::vector<std::uint8_t> candidates;
  for (auto v : usable)
    if (!exclude || v != *exclude) candidates.push_back(v);
  if (candidates.size() == 1) return candidates.front();
  std::string list;
  for (auto v : usable) list += (list.empty() ? "" : ", ") + kvn_text(v);
  if (candidates.empty())
    throw TsmError(TsmErrc::Usage, card.card + ": the card lists no usable key set" +
                                       (list.empty() ? std::string() : " for this source (it has " + list + ")"));
  throw TsmError(TsmErrc::Usage, card.card + ": the card lists several key sets (" + list + "); choose one with --kvn");
}

}  // namespace sekds::tsm
