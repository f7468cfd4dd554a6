// Error values for fallible operations whose failure a person reads (CLI, admin API):
// a category for the caller to branch on and one line of text saying what and why.
#pragma once

#include <boost/system/result.hpp>
#include <stdexcept>
#include <string>

namespace mailstead {

enum class ErrorKind {
  invalid,    // the request is malformed (bad address, bad value)
  not_found,  // the thing named does not exist
  conflict,   // it exists already, or would collide with something that does
  denied,     // not allowed
  internal,   // the store or the system failed
};

struct Error {
  Error() = default;
  Error(ErrorKind k, std::string m, std::string f = {}) : kind(k), message(std::move(m)), field(std::move(f)) {}
  ErrorKind kind = ErrorKind::internal;
  std::string message;
  std::string field;  // the input it is about ("alias", "password"), "" when not one
};

inline Error invalid(std::string m) { return {ErrorKind::invalid, std::move(m)}; }
inline Error not_found(std::string m) { return {ErrorKind::not_found, std::move(m)}; }
inline Error conflict(std::string m) { return {ErrorKind::conflict, std::move(m)}; }
inline Error internal(std::string m) { return {ErrorKind::internal, std::move(m)}; }
inline Error denied(std::string m) { return {ErrorKind::denied, std::move(m)}; }
// `e` about the input `field` (kept when it already names one).
inline Error about(Error e, const char* field) {
  if (e.field.empty()) e.field = field;
  return e;
}

// Called by boost::system::result<T, Error>::value() on an error.
[[noreturn]] inline void throw_exception_from_error(const Error& e, const boost::source_location&) {
  throw std::runtime_error(e.message);
}

template <class T>
using Result = boost::system::result<T, Error>;

}  // namespace mailstead
