// Debug switches read from the environment (once, lazily: nothing here runs during static
// initialisation).
#pragma once

namespace augur {

// AUGUR_DEBUG_SYNC=1: synchronise after every kernel launch and library call that checks
// its launch, so asynchronous errors point at their cause.
bool debug_sync_enabled();

// For tests: override the environment for the rest of the process.
void set_debug_sync(bool on);

}  // namespace augur
