// Loads the public known-answer vectors (tests/vectors/*.json, a copy of shared/vectors).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "gp/bytes.h"

namespace sekds::test {

// The whole file; fails the test (throws) if it is missing or not JSON.
nlohmann::json load_vectors(const std::string& file);
// Hex field of a vector; throws naming the field if absent.
gp::Bytes hex_field(const nlohmann::json& v, const char* name);
// A short label for messages: the vector's name, or its index and source.
std::string vector_label(const nlohmann::json& v, std::size_t index);

}  // namespace sekds::test
