// Where quantflow looks for its data files (presets, recipes): user directories first, so a
// user's file shadows a shipped one of the same name, then the install tree, then the source
// tree a development build was configured from.
#pragma once

#include <string>
#include <vector>

namespace quantflow::core {

// Configuration roots in search order: each QUANTFLOW_CONFIG_PATH entry (colon-separated),
// <exe>/../share/quantflow/configs, then the source tree's configs/ (when compiled in, and
// only when <exe>/../share/quantflow/configs does not exist: a build tree, not an install).
std::vector<std::string> config_search_path();

// `subdir` of every configuration root, in the same order (e.g. "presets").
std::vector<std::string> config_search_path(const std::string& subdir);

}  // namespace quantflow::core
