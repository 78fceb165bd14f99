// Error reporting for the whole project: every failed check throws augur::Error with the
// expression, file:line and a message; library code never calls exit().
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace augur {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {

template <class... Args>
std::string concat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

[[noreturn]] void check_failed(const char* kind, const char* expr, const char* file, int line,
                               const std::string& message);

}  // namespace detail
}  // namespace augur

// Internal invariant: a failure is a bug in Augur.
#define AUGUR_CHECK(cond, ...)                                                 \
  do {                                                                         \
    if (!(cond))                                                               \
      ::augur::detail::check_failed("check failed", #cond, __FILE__, __LINE__, \
                                    ::augur::detail::concat(__VA_ARGS__));     \
  } while (0)

// Caller error: bad shapes, dtypes, flags. The message should name the operation and values.
#define AUGUR_ARG_CHECK(cond, ...)                                                 \
  do {                                                                             \
    if (!(cond))                                                                   \
      ::augur::detail::check_failed("invalid argument", #cond, __FILE__, __LINE__, \
                                    ::augur::detail::concat(__VA_ARGS__));         \
  } while (0)

#define AUGUR_THROW(...)                                              \
  ::augur::detail::check_failed("error", nullptr, __FILE__, __LINE__, \
                                ::augur::detail::concat(__VA_ARGS__))
