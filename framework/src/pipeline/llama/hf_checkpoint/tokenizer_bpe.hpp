// The BPE path (hf-to-gguf.md §4.2): a fast tokenizer's tokenizer.json, or a slow one's
// vocab.json and merges.txt, as GGUF's "gpt2" tokenizer model. tokenizer.ggml.pre is chosen
// from the model family, as the document's rule set without the hash table says.
#pragma once

#include <string>
#include <vector>

#include "pipeline/llama/hf_checkpoint/checkpoint.hpp"
#include "pipeline/llama/hf_checkpoint/vocabulary.hpp"

namespace quantflow::pipeline::hf {

// Whether the folder holds a BPE tokenizer quantflow reads (tokenizer.json or vocab.json).
bool has_bpe_tokenizer(const Checkpoint& checkpoint);

Result<Vocabulary> bpe_vocabulary(const Checkpoint& checkpoint);

// merges.txt: one "left right" pair a line after an optional "#version" line; lines that are
// not two parts are skipped, as the converter skips them.
std::vector<std::string> parse_merges_txt(const std::string& text);

// "llama-bpe", "qwen2", "gpt-2", ...; empty when the family does not say.
std::string pre_tokenizer_of(const Checkpoint& checkpoint, size_t vocab_size);

}  // namespace quantflow::pipeline::hf
