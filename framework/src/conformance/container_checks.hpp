// The checks run on one container: descriptor sanity, probe on empty and garbage bytes, a
// writer -> reader round trip of a small synthetic set, and error values (not crashes) for
// a missing and a truncated file.
#pragma once

#include <string>
#include <vector>

#include "conformance/codec_checks.hpp"
#include "conformance/conformance.hpp"
#include "conformance/isolation.hpp"
#include "quantflow/container.hpp"

namespace quantflow::conformance {

// What the behaviour checks of one container share.
struct ContainerSubject {
  const ContainerDescriptor& container;
  const CodecCatalog& catalog;  // the plugin's own codecs, then those of the search path
  std::string work_dir;         // an empty temporary folder, removed by the caller
  // The file the round trip writes; the truncation check cuts copies of it. For a container
  // that writes model folders (QfFolderLayout), the weights file inside written_model().
  std::string written_file() const;
  // What the round trip opens again: written_file(), or the model folder holding it.
  std::string written_model() const;
};

// container_probe_checks.cpp
Outcome check_probe(const ContainerSubject& s);
Outcome check_missing_file(const ContainerSubject& s);
Outcome check_truncated_file(const ContainerSubject& s);

// container_round_trip.cpp
Outcome check_round_trip(const ContainerSubject& s);

// Every check of one container, in report order (container_check_list.cpp).
std::vector<Check> check_container(const ContainerDescriptor& container, const CodecCatalog& catalog,
                                   const NameOwners& others, const std::string& work_dir);

}  // namespace quantflow::conformance
