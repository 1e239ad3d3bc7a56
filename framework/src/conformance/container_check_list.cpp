// The order and preconditions of a container's checks.
#include "conformance/container_checks.hpp"
#include "conformance/descriptor_checks.hpp"

namespace quantflow::conformance {

namespace {

struct BehaviourCheck {
  const char* id;
  bool needs_reader;
  bool needs_writer;
  Outcome (*run)(const ContainerSubject&);
};

// The round trip runs before the truncation check, which cuts copies of its file.
constexpr BehaviourCheck kBehaviourChecks[] = {
    {.id = "probe", .needs_reader = false, .needs_writer = false, .run = check_probe},
    {.id = "round_trip", .needs_reader = true, .needs_writer = true, .run = check_round_trip},
    {.id = "missing_file", .needs_reader = true, .needs_writer = false, .run = check_missing_file},
    {.id = "truncated_file", .needs_reader = true, .needs_writer = true, .run = check_truncated_file},
};

std::string missing_precondition(const BehaviourCheck& check, const ContainerSubject& subject) {
  const ContainerDescriptor& container = subject.container;
  if (check.run != check_probe && subject.work_dir.empty()) return "no temporary folder could be created";
  if (check.needs_reader && container.open_reader == nullptr) return "write-only container: nothing reads files back";
  if (check.needs_writer && container.create_writer == nullptr)
    return "read-only container: no writer to make a test file";
  return {};
}

}  // namespace

std::string ContainerSubject::written_model() const {
  return container.folder != nullptr ? work_dir + "/round-trip" : written_file();
}

std::string ContainerSubject::written_file() const {
  if (container.folder != nullptr) return written_model() + "/" + container.folder->weights_file;
  std::string extension = container.extensions ? container.extensions : "";
  extension = extension.substr(0, extension.find(' '));
  return work_dir + "/round-trip" + extension;
}

std::vector<Check> check_container(const ContainerDescriptor& container, const CodecCatalog& catalog,
                                   const NameOwners& others, const std::string& work_dir) {
  std::vector<Check> checks = check_container_descriptor(container, others);
  const ContainerSubject subject{container, catalog, work_dir};
  for (const BehaviourCheck& b : kBehaviourChecks) {
    Check check{"container", container.name, b.id, Verdict::skipped, {}};
    if (std::string missing = missing_precondition(b, subject); !missing.empty()) {
      check.reason = missing;
    } else {
      Outcome outcome = run_isolated([&] { return b.run(subject); });
      check.verdict = outcome.verdict;
      check.reason = std::move(outcome.reason);
    }
    checks.push_back(std::move(check));
  }
  return checks;
}

}  // namespace quantflow::conformance
