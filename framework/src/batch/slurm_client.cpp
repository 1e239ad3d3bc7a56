#include "batch/slurm_client.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include <fmt/format.h>

extern char** environ;

namespace quantflow::batch {

namespace {

// A Slurm command that gets no answer from slurmctld retries for a while and then fails; this
// bounds a hung one.
constexpr auto command_timeout = std::chrono::seconds(120);

struct CommandOutput {
  int exit_code = -1;  // 128 + signal when killed
  std::string out;
  std::string err;
};

// Closes a descriptor at scope exit.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// Reads both pipes until the child closes them or the deadline passes; false on timeout.
bool drain(int out_fd, int err_fd, CommandOutput& output, std::chrono::steady_clock::time_point deadline) {
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  std::string* sinks[2] = {&output.out, &output.err};
  char buffer[4096];
  while (fds[0].fd >= 0 || fds[1].fd >= 0) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    const int ready = ::poll(fds, 2, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return true;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      const ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        fds[i].fd = -1;  // a negative fd is ignored by poll
        continue;
      }
      sinks[i]->append(buffer, static_cast<size_t>(n));
    }
  }
  return true;
}

// Runs `program` (looked up on PATH) with `args`, stdin from /dev/null, capturing stdout and
// stderr. An error only when it could not be run or did not finish in time.
Result<CommandOutput> run_command(const std::string& program, const std::vector<std::string>& args) {
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return io_error(fmt::format("pipe: {}", std::strerror(errno)));
  Fd out_read{out_pipe[0]}, out_write{out_pipe[1]};
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) return io_error(fmt::format("pipe: {}", std::strerror(errno)));
  Fd err_read{err_pipe[0]}, err_write{err_pipe[1]};

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  // dup2 clears close-on-exec on the copy; every other descriptor of ours stays out.
  posix_spawn_file_actions_adddup2(&actions, out_write.fd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_write.fd, STDERR_FILENO);

  std::vector<char*> argv{const_cast<char*>(program.c_str())};
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  const int spawned = ::posix_spawnp(&pid, program.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) return io_error(fmt::format("cannot run {}: {}", program, std::strerror(spawned)));
  ::close(out_write.fd);
  out_write.fd = -1;
  ::close(err_write.fd);
  err_write.fd = -1;

  CommandOutput output;
  const bool finished = drain(out_read.fd, err_read.fd, output, std::chrono::steady_clock::now() + command_timeout);
  if (!finished) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!finished) return io_error(fmt::format("{} did not finish within {} s", program, command_timeout.count()));
  output.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return output;
}

// A command's stderr as one line: its lines joined with "; ", surrounding blanks dropped.
std::string one_line(const std::string& text) {
  std::istringstream in(text);
  std::string line, joined;
  while (std::getline(in, line)) {
    const auto first = line.find_first_not_of(" \t\r");
    if (first == std::string::npos) continue;
    line = line.substr(first, line.find_last_not_of(" \t\r") - first + 1);
    joined += (joined.empty() ? "" : "; ") + line;
  }
  return joined;
}

Status command_failed(const std::string& program, const CommandOutput& output) {
  const std::string err = one_line(output.err);
  return io_error(
      fmt::format("{} failed (exit status {}){}{}", program, output.exit_code, err.empty() ? "" : ": ", err));
}

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

struct StateName {
  const char* name;
  TaskState state;
};

// Slurm's job states that are not final; every other state (COMPLETED, FAILED, CANCELLED,
// TIMEOUT, NODE_FAIL, OUT_OF_MEMORY, PREEMPTED, BOOT_FAIL, DEADLINE, ...) means the task is over.
constexpr StateName live_states[] = {
    {.name = "PENDING", .state = TaskState::pending},       {.name = "REQUEUED", .state = TaskState::pending},
    {.name = "REQUEUE_FED", .state = TaskState::pending},   {.name = "REQUEUE_HOLD", .state = TaskState::pending},
    {.name = "RESV_DEL_HOLD", .state = TaskState::pending}, {.name = "SUSPENDED", .state = TaskState::running},
    {.name = "RUNNING", .state = TaskState::running},       {.name = "CONFIGURING", .state = TaskState::running},
    {.name = "COMPLETING", .state = TaskState::running},    {.name = "RESIZING", .state = TaskState::running},
    {.name = "SIGNALING", .state = TaskState::running},     {.name = "STAGE_OUT", .state = TaskState::running},
    {.name = "STOPPED", .state = TaskState::running},
};

}  // namespace

std::string compress_task_ids(std::vector<size_t> task_ids) {
  std::sort(task_ids.begin(), task_ids.end());
  task_ids.erase(std::unique(task_ids.begin(), task_ids.end()), task_ids.end());
  std::string out;
  for (size_t i = 0; i < task_ids.size();) {
    size_t end = i;
    while (end + 1 < task_ids.size() && task_ids[end + 1] == task_ids[end] + 1) ++end;
    if (!out.empty()) out += ',';
    out += std::to_string(task_ids[i]);
    if (end > i) out += '-' + std::to_string(task_ids[end]);
    i = end + 1;
  }
  return out;
}

std::vector<std::string> sbatch_arguments(const std::string& script_path, const std::vector<size_t>& task_ids,
                                          const SlurmResources& resources, const std::string& log_pattern) {
  std::string array = "--array=" + compress_task_ids(task_ids);
  if (resources.max_parallel > 0) array += '%' + std::to_string(resources.max_parallel);
  std::vector<std::string> args{"--parsable", array, "--output=" + log_pattern, "--error=" + log_pattern};
  if (resources.cpus_per_task > 0) args.push_back("--cpus-per-task=" + std::to_string(resources.cpus_per_task));
  if (!resources.memory.empty()) args.push_back("--mem=" + resources.memory);
  if (!resources.time.empty()) args.push_back("--time=" + resources.time);
  if (!resources.partition.empty()) args.push_back("--partition=" + resources.partition);
  if (!resources.job_name.empty()) args.push_back("--job-name=" + resources.job_name);
  args.insert(args.end(), resources.extra_options.begin(), resources.extra_options.end());
  args.push_back(script_path);
  return args;
}

Result<std::string> submit_array(const std::string& script_path, const std::vector<size_t>& task_ids,
                                 const SlurmResources& resources, const std::string& log_pattern) {
  if (task_ids.empty()) return internal_error("submit_array: no task ids to submit");
  QF_ASSIGN_OR_RETURN(auto output,
                      run_command("sbatch", sbatch_arguments(script_path, task_ids, resources, log_pattern)));
  if (output.exit_code != 0) return command_failed("sbatch", output);
  // --parsable prints "JOBID" or, on a federated or multi-cluster setup, "JOBID;CLUSTER".
  std::string job_id = one_line(output.out);
  job_id = job_id.substr(0, job_id.find(';'));
  if (!all_digits(job_id)) return io_error(fmt::format("sbatch printed no job id: '{}'", one_line(output.out)));
  return job_id;
}

TaskState task_state(const std::string& slurm_state) {
  for (const auto& s : live_states)
    if (slurm_state == s.name) return s.state;
  return TaskState::finished_or_gone;
}

Result<std::map<size_t, std::string>> parse_task_states(const std::string& squeue_output) {
  std::map<size_t, std::string> states;
  std::istringstream in(squeue_output);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, state;
    if (!(fields >> id)) continue;  // a blank line
    if (!(fields >> state)) return io_error(fmt::format("squeue printed '{}', not 'TASK_ID STATE'", line));
    if (all_digits(id)) states[std::stoull(id)] = state;
  }
  return states;
}

Result<std::map<size_t, std::string>> array_task_states(const std::string& job_id) {
  // -r: one line per task, pending ones too; --states=all: finished tasks with their end state
  // while slurmctld remembers them (by default, with -j, only live ones would show).
  QF_ASSIGN_OR_RETURN(auto output, run_command("squeue", {"--noheader", "--array", "--states=all", "--jobs=" + job_id,
                                                          "--format=%K %T"}));
  if (output.exit_code != 0) {
    // slurmctld forgot the job (MinJobAge after its end): every task is gone.
    if (output.err.find("Invalid job id specified") != std::string::npos) return std::map<size_t, std::string>{};
    return command_failed("squeue", output);
  }
  return parse_task_states(output.out);
}

Status cancel(const std::string& job_id_or_task) {
  QF_ASSIGN_OR_RETURN(auto output, run_command("scancel", {job_id_or_task}));
  if (output.exit_code != 0) return command_failed("scancel", output);
  return {};
}

bool slurm_client_available() {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return false;
  std::istringstream dirs(path);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const std::string candidate = (dir.empty() ? "." : dir) + "/sbatch";
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(candidate.c_str(), X_OK) == 0)
      return true;
  }
  return false;
}

}  // namespace quantflow::batch
