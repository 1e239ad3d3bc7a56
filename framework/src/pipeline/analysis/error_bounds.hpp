// The largest relative RMSE `verify --against` accepts for a tensor stored in a given
// encoding (docs/cli.md, "verify", lists the table and where it comes from).
#pragma once

#include "quantflow/dtype.hpp"

namespace quantflow::pipeline {

// 3x the codec's measured round-trip relative RMSE on gaussian rows (verify/calibration.tsv
// on the configuration search path); encodings not in that table get a bound derived from
// their bits per element.
double rel_rmse_bound(const DType& dtype);

}  // namespace quantflow::pipeline
