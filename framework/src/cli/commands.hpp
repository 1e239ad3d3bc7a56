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
int run_quantize(int argc, char** argv);
int run_verify(int argc, char** argv);
int run_diff(int argc, char** argv);
int run_run(int argc, char** argv);
int run_estimate(int argc, char** argv);
int run_plugin_check(int argc, char** argv);
int run_batch(int argc, char** argv);

inline constexpr Command kCommands[] = {
    {"inspect", "show a model file's container, metadata and tensors", run_inspect},
    {"convert", "convert between containers, optionally re-encoding tensors", run_convert},
    {"plugins", "list loaded plugins, what they provide, and plugins that failed to load", run_plugins},
    {"quantize", "quantize a GGUF model like llama-quantize, with its type mixtures as YAML presets", run_quantize},
    {"synth", "write a llama-shaped model with generated weights (demos, tests, benchmarks)", run_synth},
    {"verify", "check that tensors decode to finite values, optionally within error bounds of a source", run_verify},
    {"diff", "show metadata and tensor differences between two model files", run_diff},
    {"run", "carry out a YAML conversion recipe (or print its plan with --dry-run)", run_run},
    {"estimate", "print the output size a YAML conversion recipe would produce", run_estimate},
    {"batch", "run many conversions (models x recipes) incrementally, on this machine or a Slurm cluster", run_batch},
    {"plugin-check", "check that a plugin file is safe to use (descriptor, round trips, thread safety)",
     run_plugin_check},
};

}  // namespace quantflow::cli
