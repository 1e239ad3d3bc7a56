#include "pipeline/recipe/yaml_errors.hpp"

#include <yaml-cpp/depthguard.h>

namespace quantflow::pipeline {

std::string yaml_error_message(const YAML::Exception& e) {
  // Its depth() counts parser calls, not levels of the document, so no number is given.
  if (dynamic_cast<const YAML::DeepRecursion*>(&e) != nullptr)
    return "the YAML is nested too deeply (more levels than the parser's recursion limit)";
  return e.msg;
}

}  // namespace quantflow::pipeline
