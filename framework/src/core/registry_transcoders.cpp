// Loading transcoders into the Registry: each descriptor checked on its own, then its codec
// pair against the plugin's other transcoders and those of plugins loaded before it. The
// codecs themselves are not looked up here: they may come from a plugin loaded later.
#include <algorithm>

#include <fmt/format.h>

#include "core/descriptor_checks.hpp"
#include "core/registry.hpp"

namespace quantflow::core {

std::string transcoder_pair(const TranscoderDescriptor& t) {
  return canonical_dtype_name(t.from) + " -> " + canonical_dtype_name(t.to);
}

Status Registry::check_transcoders(const QfPluginDescriptor& desc) const {
  std::vector<std::string> own;
  for (uint32_t i = 0; i < desc.n_transcoders; ++i) {
    const TranscoderDescriptor* t = desc.transcoders[i];
    QF_RETURN_IF_ERROR(validate_transcoder(t));
    const std::string pair = transcoder_pair(*t);
    if (std::find(own.begin(), own.end(), pair) != own.end())
      return bad_input(fmt::format("transcoder '{}' is listed twice", pair));
    const auto same_pair = [&](const TranscoderDescriptor* loaded) { return transcoder_pair(*loaded) == pair; };
    if (std::any_of(transcoders_.begin(), transcoders_.end(), same_pair))
      return bad_input(fmt::format("transcoder '{}' is already provided by {}; the first plugin in search order wins",
                                   pair, provider_of_transcoder(pair)));
    own.push_back(pair);
  }
  return {};
}

std::string Registry::provider_of_transcoder(const std::string& pair) const {
  for (const auto& p : plugins_)
    for (const TranscoderDescriptor* t : p.transcoders)
      if (transcoder_pair(*t) == pair) return p.path;
  return "another plugin";
}

}  // namespace quantflow::core
