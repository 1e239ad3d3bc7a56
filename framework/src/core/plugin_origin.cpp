#include "core/plugin_origin.hpp"

#include <dlfcn.h>

namespace quantflow::core {

std::string plugin_path_of(const void* address) {
  // dladdr answers from the loader's own table: no registry has to be threaded through the
  // pipeline to the code that calls a codec.
  Dl_info info{};
  if (::dladdr(address, &info) == 0 || info.dli_fname == nullptr) return "an unknown library";
  static const char marker = 0;  // an object of this binary, to recognize addresses of our own
  Dl_info self{};
  if (::dladdr(&marker, &self) != 0 && self.dli_fbase == info.dli_fbase) return "the quantflow executable";
  return info.dli_fname;
}

}  // namespace quantflow::core
