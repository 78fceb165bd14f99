// A training run stopped by SIGINT or SIGTERM ends at the next point where a checkpoint
// holds everything the next step needs (after a step of a synchronous schedule, after a
// segment of pipedream's), writes that checkpoint and says how to resume; a second signal
// ends the process at once. Installed for one-process runs only: the ranks of a job would
// each stop at a different step and wait for each other for ever.
#pragma once

namespace augur {

class GracefulStop {
 public:
  GracefulStop();   // installs the handlers
  ~GracefulStop();  // restores the previous ones
  GracefulStop(const GracefulStop&) = delete;
  GracefulStop& operator=(const GracefulStop&) = delete;

  // The signal asking to stop, or 0.
  static int requested();
};

}  // namespace augur
