// Progress on stderr, only when stderr is a terminal: tensor i/n, bytes, rate, ETA.
#pragma once

#include <chrono>
#include <functional>

#include "pipeline/engine/executor.hpp"

namespace quantflow::cli {

// A callback for ExecuteOptions::on_progress, or an empty function when stderr is not a tty.
std::function<void(const pipeline::Progress&)> terminal_progress();

}  // namespace quantflow::cli
