#include "runtime/debug.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace augur {

namespace {
// -1: not read yet; 0/1 otherwise.
std::atomic<int> g_debug_sync{-1};
}  // namespace

bool debug_sync_enabled() {
  int v = g_debug_sync.load(std::memory_order_relaxed);
  if (v < 0) {
    const char* env = std::getenv("AUGUR_DEBUG_SYNC");
    v = (env && *env && std::strcmp(env, "0") != 0) ? 1 : 0;
    g_debug_sync.store(v, std::memory_order_relaxed);
  }
  return v == 1;
}

void set_debug_sync(bool on) {
  g_debug_sync.store(on ? 1 : 0, std::memory_order_relaxed);
}

}  // namespace augur
