// The subcommand table: adding a command means one file and one row here.
#pragma once

namespace quantflow::cli {

struct Command {
  const char* name;
  const char* summary;
  int (*run)(int argc, char** argv);  // argv[0] is the command name
};

int run_inspect(int argc, char** argv);
int run_convert(int argc, char** argv);
int run_plugins(int argc, char** argv);
int run_synth(int argc, char** argv);

inline constexpr Command kCommands[] = {
    {"inspect", "show a model file's container, metadata and tensors", run_inspect},
    {"convert", "convert between containers, optionally re-encoding tensors", run_convert},
    {"plugins", "list loaded plugins, what they provide, and plugins that failed to load", run_plugins},
    {"synth", "write a llama-shaped model with generated weights (demos, tests, benchmarks)", run_synth},
};

}  // namespace quantflow::cli
