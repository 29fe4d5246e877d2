#include "world.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <stdexcept>

namespace sekds::test {
namespace {

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("bind failed");
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

std::vector<std::string> is_for(int scp) {
  return scp == 2 ? std::vector<std::string>{"15", "55"} : std::vector<std::string>{"00", "10", "70"};
}

std::string dev_env_env() { return std::string("SEKDS_BUILD_DIR=") + SEKDS_BINARY_DIR; }

}  // namespace

int scp_of(const nlohmann::json& k) {
  const auto& v = k.at("scp");
  return v.is_string() ? std::stoi(v.get<std::string>()) : v.get<int>();
}

std::string DemoCards::describe() const {
  return key_set["issuer"].get<std::string>() + " SCP0" + std::to_string(scp_of(key_set)) + " i=" + i + " " +
         key_set["key_type"].get<std::string>();
}

World& World::get() {
  // Made once; a failure is remembered so every test reports it without retrying dev-env.
  static std::unique_ptr<World> w;
  static std::string error;
  if (!error.empty()) throw std::runtime_error(error);
  if (!w) {
    try {
      w.reset(new World());
    } catch (const std::exception& e) {
      error = std::string("the end-to-end world could not be made: ") + e.what();
      throw std::runtime_error(error);
    }
  }
  return *w;
}

World::World() {
  tokens_.add_token("tsm2-kek");
  try {
    up();
  } catch (...) {
    if (grid_) grid_->stop();
    if (up_) run_process({"bash", SEKDS_DEV_ENV, "down", "--dir", dir_ / "dev"}, {dev_env_env()});
    throw;
  }
}

World::~World() {
  if (grid_) grid_->stop();
  if (up_) run_process({"bash", SEKDS_DEV_ENV, "down", "--dir", dir_ / "dev"}, {dev_env_env()});
}

RunResult World::tsm(const std::string& who, std::vector<std::string> args) const {
  args.insert(args.begin(), SEKDS_TSM_BIN);
  return run_process(args, {"SEKDS_TSM_CONFIG=" + config(who)});
}

RunResult World::admin(std::vector<std::string> args) const {
  args.insert(args.begin(), SEKDS_ADMIN_BIN);
  return run_process(args, {"SEKDS_CONFIG=" + manifest_["config"].get<std::string>(),
                            "SOFTHSM2_CONF=" + manifest_["softhsm2_conf"].get<std::string>()});
}

const nlohmann::json& World::key_set(const std::string& key_type) const {
  for (const auto& k : manifest_["key_sets"])
    if (k["key_type"] == key_type) return k;
  throw std::runtime_error("the dev environment has no " + key_type + " key set");
}

int World::spare_card(const std::string& key_type) {
  auto& v = spares_[key_type];
  if (v.empty()) throw std::runtime_error("no spare " + key_type + " card left");
  const int s = v.back();
  v.pop_back();
  return s;
}

void World::setup_tsm(const std::string& tsm, const std::string& token) {
  const nlohmann::json* t = nullptr;
  for (const auto& x : manifest_["tsms"])
    if (x["name"] == tsm) t = &x;
  if (!t) throw std::runtime_error("no " + tsm + " in the manifest");
  const nlohmann::json* kek = nullptr;
  for (const auto& k : (*t)["keks"])
    if (k["index"] == 1) kek = &k;
  if (!kek) throw std::runtime_error("no KEK 1 of " + tsm + " in the manifest");
  const std::string url = manifest_["endpoint"];
  const std::string prefix = url.substr(0, url.find('/', 8) + 1);  // https://localhost:PORT/
  write_private(config(tsm), "# sekds-tsm for " + tsm + " (end-to-end test, DEMO ONLY)\n"
                             "kek_index = 1\n"
                             "[[ttp]]\n"
                             "url_prefix = \"" + prefix + "\"\n"
                             "certificate = \"" + (*t)["cert"].get<std::string>() + "\"\n"
                             "private_key = \"" + (*t)["key"].get<std::string>() + "\"\n"
                             "ca = \"" + manifest_["ca_cert"].get<std::string>() + "\"\n"
                             "[kek_token]\n"
                             "module = \"" + SoftHsmToken::module_path() + "\"\n"
                             "token = \"" + token + "\"\n"
                             "pin = \"" + tokens_.user_pin_source() + "\"\n"
                             "state_file = \"" + tsm + "-kek-state.json\"\n"
                             "[[own_keys]]\nscp = 3\nkvn = 0x40\nmethod = \"kdf3\"\nmaster_key_file = \"own-aes.hex\"\n"
                             "[[own_keys]]\nscp = 2\nkvn = 0x40\nmethod = \"emv\"\nmaster_key_file = \"own-des.hex\"\n");
  std::vector<std::string> args = {"kek", "import", "--index", "1"};
  for (const auto& f : (*kek)["component_files"]) {
    args.push_back("--component");
    args.push_back(f.get<std::string>());
  }
  const RunResult r = this->tsm(tsm, args);
  if (r.status != 0) throw std::runtime_error(tsm + ": sekds-tsm kek import failed: " + r.out + r.err);
}

void World::up() {
  const std::uint16_t port = free_port();
  const RunResult r =
      run_process({"bash", SEKDS_DEV_ENV, "up", "--port", std::to_string(port), "--dir", dir_ / "dev"}, {dev_env_env()});
  up_ = true;
  if (r.status != 0) throw std::runtime_error("deploy/dev-env.sh up failed (" + std::to_string(r.status) + "):\n" + r.err);
  std::ifstream in(dir_ / "dev/manifest.json");
  manifest_ = nlohmann::json::parse(in);

  // The TSMs' own key sets (rotation targets).
  write_private(dir_ / "own-aes.hex", "F0E1D2C3B4A5968778695A4B3C2D1E0F\n");
  write_private(dir_ / "own-des.hex", "0F1E2D3C4B5A69788796A5B4C3D2E1F0\n");
  setup_tsm("tsm1", "tsm1-kek");
  setup_tsm("tsm2", "tsm2-kek");

  // Cards of every demo key set, for every i the card supports: one per level, plus spares.
  const std::string url = manifest_["endpoint"];
  for (const auto& k : manifest_["key_sets"]) {
    const std::string name = k["issuer"];
    if (k["master_key_hex"].is_null()) throw std::runtime_error("manifest: no demo master for " + name);
    const std::string master = dir_ / ("master-" + name + ".hex");
    write_private(master, k["master_key_hex"].get<std::string>() + "\n");
    const int scp = scp_of(k);
    const std::string kvn = std::to_string(k["kvn"].get<int>());
    const std::string iin = k["iin"];
    for (const std::string& i : is_for(scp)) {
      const int levels = scp == 2 ? 2 : (i == "70" ? 5 : 2);
      DemoCards c{k, i, personalise_cards(grid_db(), levels, "0" + std::to_string(scp), i, k["method"], master, url, kvn, iin)};
      cards_.push_back(std::move(c));
    }
    spares_[k["key_type"]] =
        personalise_cards(grid_db(), 8, "0" + std::to_string(scp), scp == 2 ? "55" : "70", k["method"], master, url, kvn, iin);
  }
  grid_ = std::make_unique<GridChild>(grid_db());

  // The script of step 8: GET STATUS, LOAD + INSTALL of a ~9 KB load file.
  const RunResult lf = run_process({SEKDS_CARD_BIN, "make-loadfile", "--package", "D2760001180101", "--applet",
                                    "D276000118010101", "--size", "9216", "--out", dir_ / "applet.cap"});
  if (lf.status != 0) throw std::runtime_error("sekds-card make-loadfile failed: " + lf.out + lf.err);
  script_ = dir_ / "script.txt";
  write_private(script_, "# step 8: the TSM's management script\n"
                         "get-status\n"
                         "load applet.cap\n"
                         "install D2760001180101 D276000118010101 D27600011801010101\n"
                         "get-status\n"
                         "80CA00CF00   # GET DATA through the channel\n");
}

}  // namespace sekds::test
