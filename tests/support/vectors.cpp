#include "support/vectors.h"

#include <fstream>
#include <stdexcept>

namespace sekds::test {

nlohmann::json load_vectors(const std::string& file) {
  std::string path = std::string(SEKDS_VECTOR_DIR) + "/" + file;
  std::ifstream in(path);
  if (!in) throw std::runtime_error("vector file missing: " + path);
  nlohmann::json j = nlohmann::json::parse(in);
  if (!j.contains("vectors") || !j["vectors"].is_array() || j["vectors"].empty())
    throw std::runtime_error("vector file has no vectors: " + path);
  return j;
}

gp::Bytes hex_field(const nlohmann::json& v, const char* name) {
  if (!v.contains(name) || !v[name].is_string()) throw std::runtime_error(std::string("vector has no hex field '") + name + "'");
  return gp::from_hex(v[name].get<std::string>(), name);
}

std::string vector_label(const nlohmann::json& v, std::size_t index) {
  if (v.contains("name")) return v["name"].get<std::string>();
  std::string s = "#" + std::to_string(index);
  if (v.contains("source")) s += " (" + v["source"].get<std::string>() + ")";
  return s;
}

}  // namespace sekds::test
