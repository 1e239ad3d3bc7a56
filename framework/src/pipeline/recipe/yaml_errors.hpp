// The message of a yaml-cpp exception, for recipe, preset and --set errors.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>

namespace quantflow::pipeline {

// yaml-cpp reports its nesting limit as "bad file"; this says what the document did.
std::string yaml_error_message(const YAML::Exception& e);

}  // namespace quantflow::pipeline
