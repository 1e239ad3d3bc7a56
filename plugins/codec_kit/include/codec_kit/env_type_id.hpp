// Container type ids a user may override through the environment, for encodings that have
// no official id (docs/seed-formats.md §5). A plugin keeps the id text in a static buffer,
// fills it once from the entry function, and points its QfContainerId table at it.
#pragma once

#include <cstdint>
#include <cstdlib>

namespace quantflow::codec_kit {

// Room for any int32 in decimal plus the terminator.
struct TypeIdText {
  char text[12];
};

// When environment variable `var` holds a decimal integer in [0, 2^31 - 1] (digits only,
// leading zeros allowed), writes its canonical decimal form into `out` and returns true.
// Anything else (unset, empty, signs, spaces, other characters, too large) leaves `out`
// untouched and returns false.
inline bool read_env_type_id(const char* var, TypeIdText& out) {
  const char* s = std::getenv(var);
  if (s == nullptr || *s == '\0') return false;
  uint64_t value = 0;
  for (const char* p = s; *p != '\0'; ++p) {
    if (*p < '0' || *p > '9') return false;
    value = value * 10u + static_cast<uint64_t>(*p - '0');
    if (value > 0x7FFFFFFFu) return false;
  }
  char digits[12];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10u);
    value /= 10u;
  } while (value != 0);
  for (int i = 0; i < n; ++i) out.text[i] = digits[n - 1 - i];
  out.text[n] = '\0';
  return true;
}

}  // namespace quantflow::codec_kit
