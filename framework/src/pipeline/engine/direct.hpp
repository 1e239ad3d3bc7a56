// Quantized -> quantized without a float detour: which jobs of a planned conversion use a
// plugin's transcoder, and how plans and summaries describe it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/registry.hpp"
#include "pipeline/engine/conversion.hpp"

namespace quantflow::pipeline {

// Whether `job` re-encodes one codec's row blocks into another codec's, the only re-encodings
// a transcoder does: not a copy, not a row-scaled pair, no whole-tensor encoding on either side.
bool may_transcode_directly(const TensorJob& job);

// Gives each job of the conversion (its plan and every file's plan) the registry's transcoder
// for its codec pair, where one exists and both codecs are loaded; with
// conversion.settings.direct_transcoding off, takes them away. Planners call it last;
// calling it again after changing the setting is safe.
void choose_transcoders(Conversion& conversion, const core::Registry& registry);

// How a plan shows the job's route: "direct" (a transcoder that is always exact), "direct
// where exact, else via f32", or "" for a job without a transcoder.
std::string_view planned_route(const TensorJob& job);

// "N tensors transcoded directly (lossless), M through f32 (not exactly representable)", or
// "" when no job had a transcoder. `routes` as ExecutionHooks::routes fills it.
std::string direct_summary(const std::vector<TranscodeRoute>& routes);

// The route as reports name it: "direct", "via_f32", or "" (no transcoder was involved).
std::string_view route_name(TranscodeRoute route);

}  // namespace quantflow::pipeline
