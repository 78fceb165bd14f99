#include "runtime/error.h"

namespace augur::detail {

void check_failed(const char* kind, const char* expr, const char* file, int line,
                  const std::string& message) {
  std::ostringstream os;
  os << kind;
  if (!message.empty()) os << ": " << message;
  if (expr) os << " [" << expr << "]";
  os << " at " << file << ":" << line;
  throw Error(os.str());
}

}  // namespace augur::detail
