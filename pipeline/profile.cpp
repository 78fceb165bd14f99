#include "pipeline/profile.h"

#include <cstdio>
#include <fstream>

#include "runtime/error.h"

namespace augur {

namespace {

constexpr const char* kFormat = "augur-profile";
constexpr int kVersion = 1;

template <class T>
T field(const nlohmann::json& j, const char* key, const std::string& where) {
  AUGUR_ARG_CHECK(j.is_object() && j.contains(key), "profile: ", where, " has no field '", key,
                  "'");
  try {
    return j.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    AUGUR_THROW("profile: ", where, " field '", key, "' has the wrong type: ", j.at(key).dump());
  }
}

}  // namespace

nlohmann::json profile_to_json(const Profile& p) {
  nlohmann::json units = nlohmann::json::array();
  for (const auto& u : p.units)
    units.push_back({{"name", u.name},
                     {"forward_ms", u.forward_ms},
                     {"backward_ms", u.backward_ms},
                     {"output_bytes", u.output_bytes},
                     {"param_count", u.param_count}});
  return {{"format", kFormat},
          {"version", kVersion},
          {"model", p.model},
          {"image_size", p.image_size},
          {"micro_batch_size", p.micro_batch_size},
          {"device", p.device},
          {"dtype", p.dtype},
          {"units", units}};
}

Profile profile_from_json(const nlohmann::json& j) {
  AUGUR_ARG_CHECK(j.is_object(), "profile: expected a JSON object, got ", j.type_name());
  const auto format = field<std::string>(j, "format", "the document");
  AUGUR_ARG_CHECK(format == kFormat, "profile: format is '", format, "', expected '", kFormat, "'");
  const int version = field<int>(j, "version", "the document");
  AUGUR_ARG_CHECK(version == kVersion, "profile: version ", version,
                  " is not supported (this "
                  "build reads version ",
                  kVersion, ")");
  Profile p;
  p.model = j.value("model", std::string());
  p.image_size = j.value("image_size", 0);
  p.device = j.value("device", std::string());
  p.dtype = j.value("dtype", std::string("f32"));
  p.micro_batch_size = field<int>(j, "micro_batch_size", "the document");
  AUGUR_ARG_CHECK(p.micro_batch_size >= 1, "profile: micro_batch_size must be >= 1, got ",
                  p.micro_batch_size);
  AUGUR_ARG_CHECK(j.contains("units") && j.at("units").is_array(),
                  "profile: 'units' must be an array");
  for (const auto& ju : j.at("units")) {
    const std::string where = "unit " + std::to_string(p.units.size());
    UnitProfile u;
    u.name = field<std::string>(ju, "name", where);
    const std::string named = where + " ('" + u.name + "')";
    u.forward_ms = field<double>(ju, "forward_ms", named);
    u.backward_ms = field<double>(ju, "backward_ms", named);
    u.output_bytes = field<int64_t>(ju, "output_bytes", named);
    u.param_count = field<int64_t>(ju, "param_count", named);
    AUGUR_ARG_CHECK(
        u.forward_ms >= 0 && u.backward_ms >= 0 && u.output_bytes >= 0 && u.param_count >= 0,
        "profile: ", named, " has a negative time or size");
    p.units.push_back(std::move(u));
  }
  AUGUR_ARG_CHECK(!p.units.empty(), "profile: no units");
  return p;
}

Profile load_profile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error("cannot open profile '" + path + "'");
  nlohmann::json j;
  try {
    in >> j;
  } catch (const nlohmann::json::exception& e) {
    throw Error("profile '" + path + "' is not valid JSON: " + e.what());
  }
  try {
    return profile_from_json(j);
  } catch (const Error& e) {
    throw Error("'" + path + "': " + e.what());
  }
}

void save_profile(const Profile& profile, const std::string& path) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) throw Error("cannot open '" + tmp + "' for writing");
    out << profile_to_json(profile).dump(2) << "\n";
    if (!out) throw Error("failed writing '" + tmp + "'");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw Error("cannot rename '" + tmp + "' to '" + path + "'");
  }
}

}  // namespace augur
