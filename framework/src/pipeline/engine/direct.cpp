#include "pipeline/engine/direct.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace quantflow::pipeline {

bool may_transcode_directly(const TensorJob& job) {
  if (job.is_copy() || job.decoder == nullptr || job.decoder == job.encoder) return false;
  if (job.part != TensorJob::Part::whole || job.scale_source_index || job.encoder->row_scale != nullptr) return false;
  return !job.source.dtype.whole_tensor && !dtype_of(*job.encoder).whole_tensor;
}

namespace {

void choose(Plan& plan, const core::Registry& registry, bool enabled) {
  for (TensorJob& job : plan.jobs)
    job.transcoder = enabled && may_transcode_directly(job)
                         ? registry.find_transcoder(job.decoder->name, job.encoder->name)
                         : nullptr;
}

}  // namespace

void choose_transcoders(Conversion& conversion, const core::Registry& registry) {
  const bool enabled = conversion.settings.direct_transcoding;
  choose(conversion.plan, registry, enabled);
  for (OutputFile& file : conversion.files) choose(file.plan, registry, enabled);
}

std::string_view planned_route(const TensorJob& job) {
  if (job.transcoder == nullptr) return "";
  return always_exact(*job.transcoder) ? "direct" : "direct where exact, else via f32";
}

std::string direct_summary(const std::vector<TranscodeRoute>& routes) {
  const auto direct = std::count(routes.begin(), routes.end(), TranscodeRoute::direct);
  const auto via_f32 = std::count(routes.begin(), routes.end(), TranscodeRoute::via_f32);
  if (direct + via_f32 == 0) return "";
  return fmt::format("{} tensor{} transcoded directly (lossless), {} through f32 (not exactly representable)", direct,
                     direct == 1 ? "" : "s", via_f32);
}

std::string_view route_name(TranscodeRoute route) {
  switch (route) {
    case TranscodeRoute::direct:
      return "direct";
    case TranscodeRoute::via_f32:
      return "via_f32";
    case TranscodeRoute::via_codecs:
      break;
  }
  return "";
}

}  // namespace quantflow::pipeline
