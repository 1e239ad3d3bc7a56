// Errors as values: every fallible call across a plugin boundary returns Status or Result<T>,
// both [[nodiscard]]; exceptions never cross it. Plugins build errors with the helpers below
// (bad_input("..."), io_error("...")) and add context with with_tensor / with_file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace quantflow {

// Maps onto the CLI exit codes: usage and bad_input -> 2, everything else -> 1.
enum class ErrorCode : int32_t {
  ok = 0,
  usage = 1,        // the caller asked for something that cannot be done as stated
  bad_input = 2,    // an input file or value is malformed, truncated or unsupported
  unsupported = 3,  // a valid request that no loaded plugin can satisfy
  io_error = 4,     // the operating system refused a read, write, map or rename
  internal = 5,     // a bug: an invariant did not hold
};

// "bad_input", "io_error", ...: the code's name in JSON output.
const char* error_code_name(ErrorCode code);

// Success (the default) or an error: a code, a one-line message and where it happened.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok_status() { return {}; }

  bool ok() const { return code_ == ErrorCode::ok; }
  explicit operator bool() const { return ok(); }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  const std::string& file() const { return file_; }
  const std::string& tensor() const { return tensor_; }

  // Context is added where it is known; an inner layer's context is never overwritten.
  Status& with_file(std::string file) & {
    if (file_.empty()) file_ = std::move(file);
    return *this;
  }
  Status&& with_file(std::string file) && { return std::move(with_file(std::move(file))); }
  Status& with_tensor(std::string tensor) & {
    if (tensor_.empty()) tensor_ = std::move(tensor);
    return *this;
  }
  Status&& with_tensor(std::string tensor) && { return std::move(with_tensor(std::move(tensor))); }

  // One line: "FILE: tensor 'NAME': MESSAGE".
  std::string to_string() const {
    std::string out;
    if (!file_.empty()) out += file_ + ": ";
    if (!tensor_.empty()) out += "tensor '" + tensor_ + "': ";
    out += message_;
    return out;
  }

 private:
  ErrorCode code_ = ErrorCode::ok;
  std::string message_;
  std::string file_;
  std::string tensor_;
};

// One constructor per code; `message` says what is wrong without the file or tensor name,
// which with_file / with_tensor add.
inline Status error(ErrorCode code, std::string message) { return Status(code, std::move(message)); }
inline Status bad_input(std::string message) { return Status(ErrorCode::bad_input, std::move(message)); }
inline Status usage_error(std::string message) { return Status(ErrorCode::usage, std::move(message)); }
inline Status unsupported(std::string message) { return Status(ErrorCode::unsupported, std::move(message)); }
inline Status io_error(std::string message) { return Status(ErrorCode::io_error, std::move(message)); }
inline Status internal_error(std::string message) { return Status(ErrorCode::internal, std::move(message)); }

// A T or the Status saying why there is none. value(), * and -> require ok(); the status of
// a Result that holds a value is ok.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}          // NOLINT(google-explicit-constructor)
  Result(Status status) : status_(std::move(status)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return value_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Status& status() const { return status_; }
  Status take_status() { return std::move(status_); }  // moves the error out, to return it

  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

inline const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::ok:
      return "ok";
    case ErrorCode::usage:
      return "usage";
    case ErrorCode::bad_input:
      return "bad_input";
    case ErrorCode::unsupported:
      return "unsupported";
    case ErrorCode::io_error:
      return "io_error";
    case ErrorCode::internal:
      return "internal";
  }
  return "unknown";
}

}  // namespace quantflow

#define QF_CONCAT_INNER(a, b) a##b
#define QF_CONCAT(a, b) QF_CONCAT_INNER(a, b)

// Returns the Status from the enclosing function when expr is not ok.
#define QF_RETURN_IF_ERROR(expr)             \
  do {                                       \
    ::quantflow::Status qf_status_ = (expr); \
    if (!qf_status_.ok()) return qf_status_; \
  } while (0)

#define QF_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.take_status();       \
  lhs = std::move(tmp).value()

// QF_ASSIGN_OR_RETURN(auto x, f()); declares x from a Result or returns its Status.
#define QF_ASSIGN_OR_RETURN(lhs, expr) QF_ASSIGN_OR_RETURN_IMPL(QF_CONCAT(qf_result_, __LINE__), lhs, expr)
