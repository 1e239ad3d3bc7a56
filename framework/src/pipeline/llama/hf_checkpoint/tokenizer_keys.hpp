// The tokenizer.* keys of a checkpoint (hf-to-gguf.md §4): which path its family and files
// take, and the keys in the converter's order.
#pragma once

#include "pipeline/llama/hf_checkpoint/checkpoint.hpp"
#include "quantflow/metadata.hpp"

namespace quantflow::pipeline::hf {

// tokenizer.ggml.model ... tokenizer.chat_template, appended to `metadata`. A folder without
// any tokenizer is an error: the GGUF would not load.
Status add_tokenizer_keys(const Checkpoint& checkpoint, Metadata& metadata);

}  // namespace quantflow::pipeline::hf
