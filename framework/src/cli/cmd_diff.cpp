#include <cmath>
#include <iostream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "cli/cli_common.hpp"
#include "cli/commands.hpp"
#include "cli/progress.hpp"
#include "core/metadata_format.hpp"
#include "pipeline/analysis/diff.hpp"

namespace quantflow::cli {

namespace {

using pipeline::MetadataDifference;
using pipeline::ModelDiff;
using pipeline::Presence;
using pipeline::TensorDifference;

// Long strings (chat templates) would drown the report; arrays are already summarized.
constexpr size_t kMaxValueChars = 100;

std::string short_value(const MetaValue& value) {
  std::string text = core::format_meta_value(value);
  if (text.size() > kMaxValueChars) text = text.substr(0, kMaxValueChars) + fmt::format("... ({} chars)", text.size());
  return text;
}

std::string typed_value(const MetaValue& value) {
  std::string label = core::meta_type_label(value);
  if (value.type == MetaType::array) label += fmt::format("[{}]", value.elements.size());
  return label + " " + short_value(value);
}

std::string element_or_end(const MetaValue& array, size_t index) {
  return index < array.elements.size() ? short_value(array.elements[index]) : "(end)";
}

std::string describe(const MetadataDifference& d) {
  switch (d.presence) {
    case Presence::only_in_a:
      return fmt::format("- {}: {}", d.key, typed_value(*d.a));
    case Presence::only_in_b:
      return fmt::format("+ {}: {}", d.key, typed_value(*d.b));
    case Presence::in_both:
      break;
  }
  std::string line = fmt::format("~ {}: {} -> {}", d.key, typed_value(*d.a), typed_value(*d.b));
  if (d.first_differing_index)
    line += fmt::format(" (first differs at index {}: {} vs {})", *d.first_differing_index,
                        element_or_end(*d.a, *d.first_differing_index), element_or_end(*d.b, *d.first_differing_index));
  return line;
}

std::string tensor_label(const TensorInfo& t) { return t.dtype.name + " " + shape_to_string(t.shape); }

std::string describe(const TensorDifference& d) {
  switch (d.presence) {
    case Presence::only_in_a:
      return fmt::format("- {}: {}", d.name, tensor_label(*d.a));
    case Presence::only_in_b:
      return fmt::format("+ {}: {}", d.name, tensor_label(*d.b));
    case Presence::in_both:
      break;
  }
  std::vector<std::string> parts;
  if (d.dtype_differs) parts.push_back(fmt::format("dtype {} -> {}", d.a->dtype.name, d.b->dtype.name));
  if (d.shape_differs)
    parts.push_back(fmt::format("shape {} -> {}", shape_to_string(d.a->shape), shape_to_string(d.b->shape)));
  if (d.bytes_differ) parts.push_back(fmt::format("bytes differ from byte {}", *d.first_differing_byte));
  if (d.max_abs_error)
    parts.push_back(fmt::format("max abs error {:.4g}, rel RMSE {:.4g}", *d.max_abs_error, *d.rel_rmse));
  if (!d.note.empty()) parts.push_back(d.note);
  return fmt::format("~ {}: {}", d.name, fmt::join(parts, "; "));
}

std::string plural(size_t n, const char* noun) { return fmt::format("{} {}{}", n, noun, n == 1 ? "" : "s"); }

std::string summary_line(const ModelDiff& diff) {
  return (diff.container_difference ? "container differs, " : "") +
         plural(diff.metadata.size(), "metadata difference") + ", " + plural(diff.tensors.size(), "tensor difference");
}

void print_text(const std::string& path_a, const std::string& path_b, const ModelDiff& diff) {
  std::cout << fmt::format("--- {}\n+++ {}\n", path_a, path_b);
  if (diff.container_difference) std::cout << fmt::format("container: {}\n", *diff.container_difference);
  if (!diff.metadata.empty()) {
    std::cout << "metadata:\n";
    for (const auto& d : diff.metadata) std::cout << "  " << describe(d) << "\n";
  }
  if (!diff.tensors.empty()) {
    std::cout << "tensors:\n";
    for (const auto& d : diff.tensors) std::cout << "  " << describe(d) << "\n";
  }
  std::cout << summary_line(diff) << std::endl;
}

const char* presence_name(Presence p) {
  return p == Presence::only_in_a ? "only_in_a" : p == Presence::only_in_b ? "only_in_b" : "changed";
}

nlohmann::json metadata_json(const MetadataDifference& d) {
  nlohmann::json j = {{"key", d.key}, {"change", presence_name(d.presence)}};
  if (d.a) j["a"] = {{"type", core::meta_type_label(*d.a)}, {"value", core::meta_value_to_json(*d.a)}};
  if (d.b) j["b"] = {{"type", core::meta_type_label(*d.b)}, {"value", core::meta_value_to_json(*d.b)}};
  if (d.presence == Presence::in_both) j["type_differs"] = d.type_differs;
  if (d.first_differing_index) j["first_differing_index"] = *d.first_differing_index;
  return j;
}

nlohmann::json tensor_json(const TensorDifference& d) {
  auto side = [](const TensorInfo& t) {
    return nlohmann::json{{"dtype", t.dtype.name}, {"shape", t.shape}, {"bytes", t.n_bytes}};
  };
  nlohmann::json j = {{"name", d.name}, {"change", presence_name(d.presence)}};
  if (d.a) j["a"] = side(*d.a);
  if (d.b) j["b"] = side(*d.b);
  if (d.presence == Presence::in_both) {
    j["dtype_differs"] = d.dtype_differs;
    j["shape_differs"] = d.shape_differs;
    j["bytes_differ"] = d.bytes_differ;
  }
  if (d.first_differing_byte) j["first_differing_byte"] = *d.first_differing_byte;
  if (d.max_abs_error) {
    j["max_abs_error"] = *d.max_abs_error;
    j["rel_rmse"] = std::isfinite(*d.rel_rmse) ? nlohmann::json(*d.rel_rmse) : nlohmann::json(nullptr);
  }
  if (!d.note.empty()) j["note"] = d.note;
  return j;
}

nlohmann::json diff_json(const std::string& path_a, const std::string& path_b, const ModelDiff& diff) {
  nlohmann::json out = {{"a", path_a}, {"b", path_b}, {"identical", diff.identical()}};
  out["container_difference"] =
      diff.container_difference ? nlohmann::json(*diff.container_difference) : nlohmann::json(nullptr);
  out["metadata"] = nlohmann::json::array();
  for (const auto& d : diff.metadata) out["metadata"].push_back(metadata_json(d));
  out["tensors"] = nlohmann::json::array();
  for (const auto& d : diff.tensors) out["tensors"].push_back(tensor_json(d));
  out["summary"] = {{"metadata_differences", diff.metadata.size()}, {"tensor_differences", diff.tensors.size()}};
  return out;
}

}  // namespace

int run_diff(int argc, char** argv) {
  CommonOptions common;
  std::string path_a, path_b;
  bool json = false;
  pipeline::DiffOptions diff_options;
  po::options_description options("options");
  options.add_options()("a", po::value(&path_a)->required(), "the first model file")(
      "b", po::value(&path_b)->required(), "the second model file")("json", po::bool_switch(&json),
                                                                    "print JSON instead of text")(
      "max-error", po::bool_switch(&diff_options.measure_error),
      "also decode tensors whose bytes differ in the same dtype and report the max abs error (always done when "
      "the dtypes differ and both decode)");
  ProgressOption progress_option;
  progress_option.add_to(options);
  common.add_to(options);
  po::positional_options_description positional;
  positional.add("a", 1).add("b", 1);
  po::variables_map vm;
  int exit_code = 0;
  if (!parse_command_line(argc, argv,
                          "usage: quantflow diff A B [--json] [--max-error]\n\n"
                          "Lists metadata keys only in A (-), only in B (+) or whose type or value differ (~),\n"
                          "and tensors only in A or B, or whose dtype, shape or bytes differ, with the\n"
                          "decoded max abs error and relative RMSE of B against A where measured.\n\n"
                          "Exit status: 0 the files are identical in content, 1 they differ, 2 a file cannot be\n"
                          "opened.",
                          options, positional, vm, exit_code))
    return exit_code;

  const auto mode = progress_option.resolve(false);
  if (!mode.ok()) return report_error(mode.status());
  ProgressReporter progress(*mode);
  diff_options.on_progress = progress.read_callback({path_a, path_b});
  auto registry = common.load_registry();
  auto diff = pipeline::diff_models(*registry, path_a, path_b, diff_options);
  if (!diff.ok()) {
    report_error(diff.status());
    return kExitUsage;  // like diff(1): trouble is 2, whatever the OS said
  }
  if (progress.json())
    progress.done_reading("diff", diff_json(path_a, path_b, *diff));
  else if (json)
    std::cout << diff_json(path_a, path_b, *diff).dump(2, ' ', false, kJsonInvalidUtf8) << std::endl;
  else
    print_text(path_a, path_b, *diff);
  return diff->identical() ? kExitOk : kExitFailure;
}

}  // namespace quantflow::cli
