// Named temporary files (the fallback when O_TMPFILE is unavailable) survive a kill -9.
// Their names embed the writer's pid, so a later run can tell abandoned ones from live ones.
#pragma once

#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace quantflow::core {

// ".NAME.quantflow-tmp-PID-XXXXXXXX" (8 hex digits of randomness).
std::string temporary_name(const std::string& target_filename, pid_t pid, unsigned random);

// The pid embedded in a temporary's file name, or nothing if the name does not match the
// pattern exactly (so that no other file is ever taken for one of ours).
std::optional<pid_t> temporary_owner(const std::string& filename);

// Removes, in `dir`, every file matching the pattern whose writer no longer exists
// (kill(pid, 0) fails with ESRCH). A live process's file, a pid we may not signal (EPERM:
// alive, someone else's) and anything not matching are kept. Returns the removed paths.
std::vector<std::string> remove_stale_temporaries(const std::string& dir);

}  // namespace quantflow::core
