#include "kernels/gpu_math.h"

#include <atomic>

namespace augur::kernels {

namespace {
std::atomic<bool> g_allow_tf32{false};
std::atomic<ConvAlgoSearch> g_search{ConvAlgoSearch::Heuristic};
std::atomic<bool> g_deterministic{true};
}  // namespace

void set_gpu_allow_tf32(bool allow) {
  g_allow_tf32.store(allow);
}
bool gpu_allow_tf32() {
  return g_allow_tf32.load();
}

void set_conv_algo_search(ConvAlgoSearch search) {
  g_search.store(search);
}
ConvAlgoSearch conv_algo_search() {
  return g_search.load();
}

void set_conv_deterministic(bool deterministic) {
  g_deterministic.store(deterministic);
}
bool conv_deterministic() {
  return g_deterministic.load();
}

}  // namespace augur::kernels
