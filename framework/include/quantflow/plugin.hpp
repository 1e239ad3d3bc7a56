// The one symbol a plugin exports: a C-layout descriptor whose first field is the ABI
// version, which the loader checks before it reads anything else.
#pragma once

#include <cstdint>

#include "quantflow/codec.hpp"
#include "quantflow/container.hpp"
#include "quantflow/transcoder.hpp"

// Bumped whenever any type reachable from QfPluginDescriptor changes layout or meaning,
// including the C++ Reader/Writer interfaces and Status/Result.
#define QUANTFLOW_ABI_VERSION 6u

#define QUANTFLOW_PLUGIN_SYMBOL "quantflow_plugin_descriptor"

extern "C" {

struct QfPluginDescriptor {
  uint32_t abi_version;  // must stay the first field, in every ABI version
  const char* name;
  const char* version;
  const char* description;
  const QfCodecDescriptor* const* codecs;
  uint32_t n_codecs;
  const QfContainerDescriptor* const* containers;
  uint32_t n_containers;
  // Quantized -> quantized re-packings (ABI 5). Their codecs may come from other plugins.
  const QfTranscoderDescriptor* const* transcoders = nullptr;
  uint32_t n_transcoders = 0;
};

typedef const QfPluginDescriptor* (*qf_plugin_entry_fn)(void);

}  // extern "C"

#define QUANTFLOW_PLUGIN_VISIBLE __attribute__((visibility("default")))

// Defines the exported entry point returning `descriptor` (a QfPluginDescriptor).
#define QUANTFLOW_EXPORT_PLUGIN(descriptor) \
  extern "C" QUANTFLOW_PLUGIN_VISIBLE const QfPluginDescriptor* quantflow_plugin_descriptor() { return &(descriptor); }

// A plugin that provides one container and nothing else.
#define QUANTFLOW_CONTAINER_PLUGIN(plugin_name, plugin_version, plugin_description, container) \
  namespace {                                                                                  \
  const QfContainerDescriptor* const qf_plugin_containers_[] = {&(container)};                 \
  const QfPluginDescriptor qf_plugin_descriptor_ = {                                           \
      .abi_version = QUANTFLOW_ABI_VERSION,                                                    \
      .name = plugin_name,                                                                     \
      .version = plugin_version,                                                               \
      .description = plugin_description,                                                       \
      .codecs = nullptr,                                                                       \
      .n_codecs = 0,                                                                           \
      .containers = qf_plugin_containers_,                                                     \
      .n_containers = 1,                                                                       \
  };                                                                                           \
  }                                                                                            \
  QUANTFLOW_EXPORT_PLUGIN(qf_plugin_descriptor_)

// A plugin that provides transcoders only: `transcoder_array` is an array of descriptor pointers.
#define QUANTFLOW_TRANSCODER_PLUGIN(plugin_name, plugin_version, plugin_description, transcoder_array)  \
  namespace {                                                                                           \
  const QfPluginDescriptor qf_plugin_descriptor_ = {                                                    \
      .abi_version = QUANTFLOW_ABI_VERSION,                                                             \
      .name = plugin_name,                                                                              \
      .version = plugin_version,                                                                        \
      .description = plugin_description,                                                                \
      .codecs = nullptr,                                                                                \
      .n_codecs = 0,                                                                                    \
      .containers = nullptr,                                                                            \
      .n_containers = 0,                                                                                \
      .transcoders = transcoder_array,                                                                  \
      .n_transcoders = static_cast<uint32_t>(sizeof(transcoder_array) / sizeof((transcoder_array)[0])), \
  };                                                                                                    \
  }                                                                                                     \
  QUANTFLOW_EXPORT_PLUGIN(qf_plugin_descriptor_)

// A plugin that provides one codec and nothing else, the common case.
#define QUANTFLOW_CODEC_PLUGIN(plugin_name, plugin_version, codec) \
  namespace {                                                      \
  const QfCodecDescriptor* const qf_plugin_codecs_[] = {&(codec)}; \
  const QfPluginDescriptor qf_plugin_descriptor_ = {               \
      .abi_version = QUANTFLOW_ABI_VERSION,                        \
      .name = plugin_name,                                         \
      .version = plugin_version,                                   \
      .description = (codec).description,                          \
      .codecs = qf_plugin_codecs_,                                 \
      .n_codecs = 1,                                               \
      .containers = nullptr,                                       \
      .n_containers = 0,                                           \
  };                                                               \
  }                                                                \
  QUANTFLOW_EXPORT_PLUGIN(qf_plugin_descriptor_)
