// quantflow as a third party sees it: `cmake --install` into a temporary prefix (then moved,
// to prove the tree relocatable), the two examples/ projects built against that prefix alone,
// loaded by the installed executable through QUANTFLOW_PLUGIN_PATH and used in a recipe.
#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "support/test_support.hpp"

using qf_test::quote;
namespace fs = std::filesystem;

namespace {

const fs::path kRepo = QF_REPO_DIR;
const std::vector<std::string> kExamples = {"third-party-codec", "third-party-container"};

qf_test::CommandResult run_ok(const std::string& command) {
  auto r = qf_test::run(command);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, "`" << command << "` exited " << r.exit_code << ":\n" << r.out << r.err);
  return r;
}

std::string read_text(const fs::path& p) {
  const auto bytes = qf_test::read_bytes(p);
  return std::string(bytes.begin(), bytes.end());
}

// The installed tree and the examples' plugins, made once for every test case below.
struct Installation {
  qf_test::TempDir root;
  fs::path prefix = root / "quantflow";      // the installed quantflow, after a move
  fs::path plugins = root / "user-plugins";  // where the examples are installed
  fs::path plugin_dir = plugins / "lib" / "quantflow" / "plugins";

  Installation() {
    run_ok(std::string("'") + QF_CMAKE + "' --install " + quote(QF_BUILD_DIR) + " --prefix " + quote(root / "staged"));
    fs::rename(root / "staged", prefix);
    for (const auto& name : kExamples) {
      // A copy, so that nothing can reach the source tree through a relative path.
      fs::create_directories(root / "src");
      fs::copy(kRepo / "examples" / name, root / "src" / name, fs::copy_options::recursive);
      const fs::path build = root / "build" / name;
      run_ok(std::string("'") + QF_CMAKE + "' -S " + quote(root / "src" / name) + " -B " + quote(build) + " -G '" +
             QF_CMAKE_GENERATOR + "' -DCMAKE_MAKE_PROGRAM=" + quote(QF_MAKE_PROGRAM) +
             " -DCMAKE_CXX_COMPILER=" + quote(QF_CXX_COMPILER) + " -DCMAKE_BUILD_TYPE=Release" +
             " -DCMAKE_EXPORT_COMPILE_COMMANDS=ON -DCMAKE_PREFIX_PATH=" + quote(prefix));
      run_ok(std::string("'") + QF_CMAKE + "' --build " + quote(build));
      run_ok(std::string("'") + QF_CMAKE + "' --install " + quote(build) + " --prefix " + quote(plugins));
    }
  }

  qf_test::CommandResult quantflow(const std::string& args) const {
    return qf_test::run("QUANTFLOW_PLUGIN_PATH=" + quote(plugin_dir) + " " + quote(prefix / "bin" / "quantflow") + " " +
                        args);
  }
};

const Installation& installation() {
  static const Installation installed;
  return installed;
}

// Folders of the source and build trees that nothing built from the installed package may name.
std::vector<std::string> tree_paths() {
  std::vector<std::string> out;
  for (const char* dir : {"framework", "examples", "configs", "cmake", "plugins"})
    out.push_back((kRepo / dir).string());
  for (const char* dir : {"lib", "bin", "package", "framework"}) out.push_back((fs::path(QF_BUILD_DIR) / dir).string());
  return out;
}

// Every regular file under `dir`, relative to it.
std::vector<std::string> files_under(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out.push_back(fs::relative(e.path(), dir).string());
  std::sort(out.begin(), out.end());
  return out;
}

// The recipe below re-encodes the feed-forward matrices and nothing else.
bool reencoded_by_recipe(const std::string& name) {
  return name.find("ffn_") != std::string::npos && name.find("norm") == std::string::npos;
}

float f32_at(const std::vector<uint8_t>& bytes, size_t i) {
  float v;
  std::memcpy(&v, bytes.data() + 4 * i, sizeof v);
  return v;
}

}  // namespace

BOOST_AUTO_TEST_CASE(install_puts_the_sdk_and_nothing_of_the_build_tree_under_the_prefix) {
  const auto& inst = installation();
  // The SDK headers are the public ones, without the bundled codecs' numeric kit.
  std::vector<std::string> headers;
  for (const auto& name : qf_test::listing(kRepo / "framework" / "include" / "quantflow"))
    if (name.ends_with(".hpp")) headers.push_back(name);
  BOOST_CHECK_GE(headers.size(), 9u);
  BOOST_TEST(qf_test::listing(inst.prefix / "include" / "quantflow") == headers, boost::test_tools::per_element());
  BOOST_TEST(qf_test::listing(inst.prefix / "lib" / "quantflow" / "plugins") == qf_test::listing(QF_PLUGIN_DIR),
             boost::test_tools::per_element());
  BOOST_TEST(qf_test::listing(inst.prefix / "share" / "quantflow" / "configs" / "presets") ==
                 qf_test::listing(kRepo / "configs" / "presets"),
             boost::test_tools::per_element());
  BOOST_TEST(qf_test::listing(inst.prefix / "lib" / "cmake" / "quantflow") ==
                 (std::vector<std::string>{
                     "quantflowConfig.cmake", "quantflowConfigVersion.cmake", "quantflowPluginHelpers.cmake",
                     std::string("quantflowTargets-") + QF_BUILD_CONFIG + ".cmake", "quantflowTargets.cmake"}),
             boost::test_tools::per_element());
  BOOST_CHECK(fs::is_regular_file(inst.prefix / "bin" / "quantflow"));
  BOOST_TEST(qf_test::listing(inst.prefix / "share" / "quantflow" / "examples") == kExamples,
             boost::test_tools::per_element());
  // Relocatable: no installed text file names the source tree, the build tree's own folders
  // or the prefix it was installed to (the temporary folders live inside the build tree, which
  // may live inside the source tree, so those are named precisely).
  std::vector<std::string> forbidden = tree_paths();
  forbidden.push_back((inst.root / "staged").string());
  for (const auto& file : files_under(inst.prefix)) {
    if (file.starts_with("bin/") || file.starts_with("lib/quantflow/plugins/")) continue;
    const std::string text = read_text(inst.prefix / file);
    for (const auto& path : forbidden)
      BOOST_CHECK_MESSAGE(text.find(path) == std::string::npos, file << " names " << path);
  }
}

BOOST_AUTO_TEST_CASE(pkg_config_gives_the_include_dir_the_standard_and_the_plugin_dir) {
  const auto& inst = installation();
  const std::string pkg = "PKG_CONFIG_PATH=" + quote(inst.prefix / "lib" / "pkgconfig") + " pkg-config ";
  const std::string cflags = run_ok(pkg + "--cflags quantflow").out;
  BOOST_CHECK_NE(cflags.find("-std=c++20"), std::string::npos);
  const std::string plugindir = run_ok(pkg + "--variable=plugindir quantflow").out;
  BOOST_CHECK_EQUAL(fs::canonical(plugindir.substr(0, plugindir.find_last_not_of("\n ") + 1)),
                    fs::canonical(inst.prefix / "lib" / "quantflow" / "plugins"));
  BOOST_CHECK_EQUAL(run_ok(pkg + "--modversion quantflow").out, "0.1.0\n");
  qf_test::write_text(inst.root / "abi.cpp",
                      "#include <quantflow/plugin.hpp>\nunsigned abi = QUANTFLOW_ABI_VERSION;\n");
  run_ok(quote(QF_CXX_COMPILER) + " $(" + pkg + "--cflags quantflow) -c " + quote(inst.root / "abi.cpp") + " -o " +
         quote(inst.root / "abi.o"));
}

BOOST_AUTO_TEST_CASE(the_examples_compile_against_the_installed_headers_only) {
  const auto& inst = installation();
  for (const auto& name : kExamples) {
    const std::string commands = read_text(inst.root / "build" / name / "compile_commands.json");
    BOOST_CHECK_NE(commands.find((inst.prefix / "include").string()), std::string::npos);
    for (const auto& path : tree_paths())
      BOOST_CHECK_MESSAGE(commands.find(path) == std::string::npos, name << " compiles with " << path);
    BOOST_CHECK_NE(commands.find("-fvisibility=hidden"), std::string::npos);
  }
  BOOST_TEST(qf_test::listing(inst.plugin_dir) == (std::vector<std::string>{"affine3_g32.so", "tinypack.so"}),
             boost::test_tools::per_element());
  // The descriptor function is the plugin's only export; libstdc++ declares its namespace
  // visible, so instances of its templates are exported too, which -fvisibility cannot change.
  for (const char* plugin : {"affine3_g32.so", "tinypack.so"}) {
    std::istringstream symbols(run_ok("nm -D --defined-only -C " + quote(inst.plugin_dir / plugin)).out);
    size_t descriptors = 0;
    for (std::string line; std::getline(symbols, line);) {
      std::string name = line.substr(line.find(' ', line.find(' ') + 1) + 1);  // after address and type
      for (const char* prefix : {"typeinfo for ", "typeinfo name for ", "vtable for ", "guard variable for "})
        if (name.starts_with(prefix)) name = name.substr(std::string(prefix).size());
      descriptors += name == "quantflow_plugin_descriptor";
      BOOST_CHECK_MESSAGE(name == "quantflow_plugin_descriptor" || name.starts_with("std::"),
                          plugin << " exports " << line);
    }
    BOOST_CHECK_EQUAL(descriptors, 1u);
  }
}

BOOST_AUTO_TEST_CASE(the_installed_quantflow_loads_the_examples_from_the_plugin_path) {
  const auto& inst = installation();
  auto r = inst.quantflow("plugins --json");
  BOOST_REQUIRE_EQUAL(r.exit_code, 0);
  const auto json = nlohmann::json::parse(r.out);
  BOOST_CHECK(json["failed"].empty());
  BOOST_CHECK_EQUAL(json["plugins"].size(), qf_test::listing(QF_PLUGIN_DIR).size() + 2);
  std::map<std::string, nlohmann::json> by_name;
  for (const auto& p : json["plugins"]) by_name[p["name"]] = p;
  BOOST_CHECK_EQUAL(by_name["affine3_g32"]["codecs"], nlohmann::json::array({"affine3_g32"}));
  BOOST_CHECK_EQUAL(by_name["affine3_g32"]["file"], (inst.plugin_dir / "affine3_g32.so").string());
  BOOST_CHECK_EQUAL(by_name["tinypack"]["containers"], nlohmann::json::array({"tinypack"}));
  BOOST_CHECK_EQUAL(by_name["tinypack"]["version"], "1.0.0");
  BOOST_CHECK_EQUAL(json["search_path"][0], (inst.prefix / "lib" / "quantflow" / "plugins").string());
}

// GGUF -> recipe (ffn matrices to affine3_g32) -> tinypack -> f32 safetensors.
BOOST_AUTO_TEST_CASE(a_recipe_writes_the_example_codec_into_the_example_container_and_reads_it_back) {
  const auto& inst = installation();
  const qf_test::TempDir dir;
  const fs::path gguf = dir / "model.gguf", tpk = dir / "model.tpk", back = dir / "back.safetensors";
  BOOST_REQUIRE_EQUAL(inst.quantflow("synth " + quote(gguf) + " --layers 2 --hidden 64 --ffn 128 --vocab 96").exit_code,
                      0);
  const fs::path recipe = inst.prefix / "share" / "quantflow" / "examples" / "third-party-codec" / "ffn-affine3.yaml";
  auto r = inst.quantflow("run " + quote(recipe) + " --set inputs=" + quote(gguf) + " --set output.path=" + quote(tpk));
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.err);

  const auto original = qf_test::tensors_of(gguf);
  const auto stored = qf_test::read_bytes(tpk);
  BOOST_CHECK(std::string(stored.begin(), stored.begin() + 8) == std::string("TPAK\x01\0\0\0", 8));
  auto inspected = inst.quantflow("inspect --json " + quote(tpk));
  BOOST_REQUIRE_EQUAL(inspected.exit_code, 0);
  const auto json = nlohmann::json::parse(inspected.out);
  BOOST_CHECK_EQUAL(json["container"], "tinypack");
  BOOST_REQUIRE_EQUAL(json["tensors"].size(), original.size());
  size_t quantized = 0;
  for (const auto& t : json["tensors"]) {
    const std::string name = t["name"];
    const bool ffn = reencoded_by_recipe(name);
    BOOST_CHECK_EQUAL(t["dtype"], ffn ? "affine3_g32" : "f32");
    const uint64_t bytes = original.at(name).bytes.size();
    BOOST_CHECK_EQUAL(t["bytes"].get<uint64_t>(), ffn ? bytes / 4 / 32 * 16 : bytes);  // 16 bytes per 32 weights
    quantized += ffn;
  }
  BOOST_CHECK_EQUAL(quantized, 6u);  // gate, up and down of 2 layers

  auto converted = inst.quantflow("convert " + quote(tpk) + " " + quote(back) + " --type f32");
  BOOST_REQUIRE_MESSAGE(converted.exit_code == 0, converted.err);
  const auto decoded = qf_test::tensors_of(back);
  BOOST_REQUIRE_EQUAL(decoded.size(), original.size());
  double worst_share_of_bound = 0;
  for (const auto& [name, t] : original) {
    const auto& d = decoded.at(name);
    BOOST_CHECK_EQUAL(d.type, "f32");
    if (!reencoded_by_recipe(name)) {
      BOOST_CHECK_MESSAGE(d.bytes == t.bytes, name << " changed");  // untouched: bit for bit
      continue;
    }
    BOOST_REQUIRE_EQUAL(d.bytes.size(), t.bytes.size());
    // Per group: codes round to the nearest of 8 levels min + k*step (error <= step/2), with
    // step = range/7 and min rounded to fp16 (relative error 2^-11 each); a value clamped to
    // level 0 or 7 is off by at most those roundings, 2^-11 * (|min| + range).
    for (size_t g = 0; g < t.bytes.size() / 4 / 32; ++g) {
      float lo = INFINITY, hi = -INFINITY;
      for (size_t i = 32 * g; i < 32 * g + 32; ++i) {
        lo = std::min(lo, f32_at(t.bytes, i));
        hi = std::max(hi, f32_at(t.bytes, i));
      }
      const double range = double(hi) - lo;
      const double bound = range / 14 * (1 + 0x1p-11) + 0x1p-10 * (std::fabs(lo) + range) + 0x1p-24;
      std::set<float> levels;
      for (size_t i = 32 * g; i < 32 * g + 32; ++i) {
        const double error = std::fabs(double(f32_at(d.bytes, i)) - f32_at(t.bytes, i));
        BOOST_REQUIRE_MESSAGE(error <= bound, name << " element " << i << ": error " << error << " > " << bound);
        worst_share_of_bound = std::max(worst_share_of_bound, error / bound);
        levels.insert(f32_at(d.bytes, i));
      }
      BOOST_REQUIRE_LE(levels.size(), 8u);  // 3 bits
    }
  }
  BOOST_TEST_MESSAGE("worst error / bound: " << worst_share_of_bound);
  // The bound is tight: some weight lies close to half a step from every level.
  BOOST_CHECK_GT(worst_share_of_bound, 0.5);
}

// The installed executable finds presets in its own share/quantflow/configs, not in the
// source tree it was built from (which would mask a broken install).
BOOST_AUTO_TEST_CASE(the_installed_quantflow_reads_its_own_presets) {
  const auto& inst = installation();
  const qf_test::TempDir dir;
  BOOST_REQUIRE_EQUAL(
      inst.quantflow("synth " + quote(dir / "m.gguf") + " --layers 1 --hidden 64 --ffn 128 --vocab 64").exit_code, 0);
  BOOST_CHECK_EQUAL(
      inst.quantflow("quantize -q " + quote(dir / "m.gguf") + " " + quote(dir / "q.gguf") + " Q8_0").exit_code, 0);
  const fs::path preset = inst.prefix / "share" / "quantflow" / "configs" / "presets" / "Q8_0.yaml";
  fs::rename(preset, dir / "Q8_0.yaml");
  auto r = inst.quantflow("quantize -q " + quote(dir / "m.gguf") + " " + quote(dir / "q2.gguf") + " Q8_0");
  fs::rename(dir / "Q8_0.yaml", preset);
  BOOST_CHECK_EQUAL(r.exit_code, 2);
  BOOST_CHECK_NE(r.err.find("unknown quantization type 'Q8_0'"), std::string::npos);
}

// docs/plugins.md walks through building the example codec: the files it shows are the
// example's files, character for character (its commands run in integration.doc_commands).
BOOST_AUTO_TEST_CASE(the_plugin_walkthrough_shows_the_example_files_as_they_are) {
  const std::string doc = read_text(kRepo / "docs" / "plugins.md");
  for (const char* file : {"CMakeLists.txt", "affine3_g32.cpp", "ffn-affine3.yaml"})
    BOOST_CHECK_MESSAGE(doc.find(read_text(kRepo / "examples" / "third-party-codec" / file)) != std::string::npos,
                        "docs/plugins.md does not show examples/third-party-codec/" << file << " as it is");
}
