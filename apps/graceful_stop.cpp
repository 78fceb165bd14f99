#include "apps/graceful_stop.h"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstring>

namespace augur {

namespace {

std::atomic<int> g_signal{0};
struct sigaction g_old_int, g_old_term;

void on_signal(int sig) {
  int none = 0;
  if (!g_signal.compare_exchange_strong(none, sig)) _exit(128 + sig);  // the second: now
  // Only async-signal-safe calls here.
  const char msg[] =
      "\naugur: stopping at the next checkpoint point (after this step; pipedream: after "
      "this segment); a second signal ends at once\n";
  ssize_t ignored = write(STDERR_FILENO, msg, sizeof msg - 1);
  (void)ignored;
}

}  // namespace

GracefulStop::GracefulStop() {
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &g_old_int);
  sigaction(SIGTERM, &sa, &g_old_term);
}

GracefulStop::~GracefulStop() {
  sigaction(SIGINT, &g_old_int, nullptr);
  sigaction(SIGTERM, &g_old_term, nullptr);
}

int GracefulStop::requested() {
  return g_signal.load();
}

}  // namespace augur
