// The --json form of the store's entities (stable field names for scripts such as
// deploy/dev-env.sh). Times are the store's UTC text form; hex is uppercase.
#pragma once

#include <nlohmann/json.hpp>

#include "store/audit.h"
#include "store/types.h"

namespace sekds::admin {

nlohmann::json to_json(const store::Issuer& i);
nlohmann::json to_json(const store::KeySet& k);
nlohmann::json to_json(const store::Tsm& t);
nlohmann::json to_json(const store::Entitlement& e);
nlohmann::json to_json(const store::Kek& k);
nlohmann::json to_json(const store::AuditEntry& a);
nlohmann::json to_json(const store::ChainHead& h);

// "55" style two-digit hex of the SCP i parameter.
std::string hex_byte(std::uint8_t v);

}  // namespace sekds::admin
