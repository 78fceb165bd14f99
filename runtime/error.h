// Error reporting for the whole project: every failed check throws augur::Error; internal
// checks (AUGUR_CHECK, AUGUR_ARG_CHECK) carry the expression and the source file:line
// (relative to the source tree), user errors (AUGUR_THROW) only their message. Library code
// never calls exit().
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

// An error in what the user gave (a data file, a flag, a schedule): the message names it and
// says what is wrong in the user's terms, without the source location (which would only
// point into Augur, and into the machine that built it).
#define AUGUR_THROW(...) throw ::augur::Error(::augur::detail::concat(__VA_ARGS__))
