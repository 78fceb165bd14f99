#include "apps/flag_checks.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <sstream>
#include <string>

namespace augur {

namespace {

std::string in_quotes(const std::string& s) {
  return "'" + s + "'";
}

std::string number(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

// The whole text as a long long, or false (empty, trailing characters, out of range).
bool whole(const std::string& text, long long* out) {
  if (text.empty() || std::isspace(static_cast<unsigned char>(text[0]))) return false;
  errno = 0;
  char* end = nullptr;
  *out = std::strtoll(text.c_str(), &end, 10);
  return errno == 0 && end == text.c_str() + text.size();
}

// The whole text as a finite or non-finite double, or false.
bool real(const std::string& text, double* out) {
  if (text.empty() || std::isspace(static_cast<unsigned char>(text[0]))) return false;
  char* end = nullptr;
  *out = std::strtod(text.c_str(), &end);
  return end == text.c_str() + text.size();
}

std::string integer_kind(int64_t lo) {
  return lo == 1   ? "a positive integer"
         : lo == 0 ? "a non-negative integer"
                   : "an integer of at least " + number(double(lo));
}

}  // namespace

CLI::Validator integer_in(int64_t lo, int64_t hi) {
  const std::string kind = integer_kind(lo);
  const std::string limit = " of at most " + std::to_string(hi);
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        long long v = 0;
        if (!whole(text, &v) || v < lo) return "must be " + kind + ", got " + in_quotes(text);
        if (v > hi) return "must be " + kind + limit + ", got " + in_quotes(text);
        return "";
      },
      lo == 1 ? "POSITIVE" : "NONNEGATIVE");
}

CLI::Validator unsigned_integer() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        const bool digits =
            !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
        errno = 0;
        if (digits) std::strtoull(text.c_str(), nullptr, 10);
        if (!digits || errno == ERANGE)
          return "must be a non-negative integer below 2^64, got " + in_quotes(text);
        return "";
      },
      "UINT64");
}

namespace {

// A validator of finite reals: the text must be a number, not NaN or infinite, and then pass
// `range` (its message, or "" when the value is in range).
CLI::Validator finite_real(std::function<std::string(double, const std::string&)> range,
                           std::string description) {
  return CLI::Validator(
      [range = std::move(range)](std::string& text) -> std::string {
        double v = 0;
        if (!real(text, &v)) return "must be a number, got " + in_quotes(text);
        if (!std::isfinite(v)) return "must be a finite number, got " + in_quotes(text);
        return range(v, text);
      },
      std::move(description));
}

}  // namespace

CLI::Validator real_in(double lo, double hi) {
  return finite_real(
      [=](double v, const std::string& text) -> std::string {
        if (v < lo || v > hi)
          return "must be between " + number(lo) + " and " + number(hi) + ", got " +
                 in_quotes(text);
        return "";
      },
      "[" + number(lo) + " - " + number(hi) + "]");
}

CLI::Validator positive_real() {
  return finite_real(
      [](double v, const std::string& text) -> std::string {
        return v > 0 ? "" : "must be a positive number, got " + in_quotes(text);
      },
      "POSITIVE");
}

CLI::Validator non_negative_real() {
  return finite_real(
      [](double v, const std::string& text) -> std::string {
        return v >= 0 ? "" : "must be a non-negative number, got " + in_quotes(text);
      },
      "NONNEGATIVE");
}

}  // namespace augur
