// Typed readers shared by the recipe's section parsers; every value keeps its source position.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "pipeline/recipe/recipe.hpp"
#include "pipeline/recipe/recipe_yaml.hpp"

namespace quantflow::pipeline::recipe_parse {

using recipe_yaml::Cursor;

template <typename T>
Marked<T> marked(T value, const Cursor& at) {
  return Marked<T>{std::move(value), at.mark()};
}

inline Result<Marked<std::string>> string_at(const Cursor& at) {
  QF_ASSIGN_OR_RETURN(std::string value, at.as_string());
  return marked(std::move(value), at);
}

inline Result<Marked<std::string>> path_at(const Cursor& at) {
  QF_ASSIGN_OR_RETURN(std::string value, at.as_string());
  if (value.empty()) return recipe_error(at.mark(), fmt::format("'{}' must not be empty", at.path()));
  return marked(at.resolve_path(value), at);
}

inline Result<Marked<uint64_t>> unsigned_at(const Cursor& at) {
  QF_ASSIGN_OR_RETURN(uint64_t value, at.as_unsigned());
  return marked(value, at);
}

// A list of strings, or one string standing for a list of one.
inline Result<std::vector<Marked<std::string>>> string_list_at(const Cursor& at, bool paths) {
  std::vector<Marked<std::string>> out;
  auto one = [&](const Cursor& c) -> Status {
    auto value = paths ? path_at(c) : string_at(c);
    if (!value.ok()) return value.take_status();
    out.push_back(std::move(value).value());
    return {};
  };
  if (at.node().IsSequence()) {
    for (size_t i = 0; i < at.node().size(); ++i) QF_RETURN_IF_ERROR(one(at.element(i, at.node()[i])));
  } else {
    QF_RETURN_IF_ERROR(one(at));
  }
  return out;
}

// Calls `parse` for each key of a map node in document order.
template <typename Fn>
Status for_each_key(const Cursor& at, Fn&& parse) {
  for (auto it = at.node().begin(); it != at.node().end(); ++it) {
    const std::string key = it->first.Scalar();
    QF_RETURN_IF_ERROR(parse(key, at.child(key, it->second), at.child(key, it->first)));
  }
  return {};
}

}  // namespace quantflow::pipeline::recipe_parse
