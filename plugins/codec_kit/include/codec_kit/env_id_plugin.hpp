// Entry point for a one-codec plugin whose container id may be overridden through the
// environment (env_type_id.hpp). The id text must be in place before the loader reads the
// descriptor, so the entry function fills it, once, before returning it.
#pragma once

#include "codec_kit/env_type_id.hpp"
#include "quantflow/plugin.hpp"

#define QUANTFLOW_ENV_ID_CODEC_PLUGIN(plugin_name, plugin_version, codec, env_var, id_text)     \
  namespace {                                                                                   \
  const QfCodecDescriptor* const qf_plugin_codecs_[] = {&(codec)};                              \
  const QfPluginDescriptor qf_plugin_descriptor_ = {                                            \
      .abi_version = QUANTFLOW_ABI_VERSION,                                                     \
      .name = plugin_name,                                                                      \
      .version = plugin_version,                                                                \
      .description = (codec).description,                                                       \
      .codecs = qf_plugin_codecs_,                                                              \
      .n_codecs = 1,                                                                            \
      .containers = nullptr,                                                                    \
      .n_containers = 0,                                                                        \
  };                                                                                            \
  }                                                                                             \
  extern "C" QUANTFLOW_PLUGIN_VISIBLE const QfPluginDescriptor* quantflow_plugin_descriptor() { \
    static const bool filled = quantflow::codec_kit::read_env_type_id(env_var, id_text);        \
    (void)filled;                                                                               \
    return &qf_plugin_descriptor_;                                                              \
  }
