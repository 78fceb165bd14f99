// Activations, gradients and labels between stages in different processes, over MPI:
// non-blocking sends and receives, waited for by polling with a short sleep (a rank blocked
// in MPI_Wait spins, and on an oversubscribed machine, four ranks on two cores in CI, the
// spinning rank takes the core from the one computing what it waits for).
//
// Each message is one MPI message of bytes: a fixed header (kind, micro-batch, dtype, shape)
// then the data, received into a buffer sized by probing, so receives need no shapes known in
// advance. Host tensors go as they are; a device tensor is staged through host memory.
//
// Strict mode makes MPI match the way NCCL does: untagged and in issue order per pair of
// ranks (one tag), sends synchronous (MPI_Issend: complete only once the receiver has matched
// them), and every operation of a group waited for before the next group starts. A lowering
// that would deadlock under NCCL then deadlocks here too, and the watchdog reports it,
// instead of passing on MPI's buffered, tag-matched sends. Every arrival's header is checked
// against what the receiver expected, so a mismatched order is an error, not silent garbage.
#pragma once

#include <mpi.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "pipeline/transport.h"

namespace augur {

struct MpiTransportOptions {
  bool strict = false;
  // A waiting operation polls, yielding the core, for `poll_yielding`, then with a sleep of
  // `poll_sleep` between polls: an answer that comes within microseconds (a neighbour's
  // short action) is not delayed by a sleep's timer slack, and a long wait does not spin (on
  // an oversubscribed machine a yield hands the core to a rank that computes). The window
  // is long against a sleep's overshoot (~0.1 ms here): with a 0.1 ms window two ranks in a
  // ping-pong locked each other into sleeping, every message waiting out a sleep (measured,
  // bench_transport: 200 us one way against 10 us).
  std::chrono::microseconds poll_yielding{1000};
  std::chrono::microseconds poll_sleep{50};
};

class MpiTransport : public Transport {
 public:
  // `stage_ranks[r]`: the rank in `comm` that runs stage r. The transport communicates on a
  // duplicate of `comm` (its messages never meet anybody else's); constructing it is
  // collective over `comm`.
  // `replicas`, when not MPI_COMM_NULL, holds this rank's stage in every pipeline (data
  // parallelism), ordered by replica: their gradients are averaged before each Step.
  MpiTransport(MPI_Comm comm, std::vector<int> stage_ranks, MpiTransportOptions options = {},
               MPI_Comm replicas = MPI_COMM_NULL);
  ~MpiTransport() override;
  MpiTransport(const MpiTransport&) = delete;
  MpiTransport& operator=(const MpiTransport&) = delete;

  void send(int from_stage, int to_stage, MessageKind kind, int micro_batch, const TensorView& data,
            Tensor owned, const Stream& stream) override;
  Message receive(int stage, MessageKind kind, int micro_batch, const Stream& stream,
                  std::chrono::steady_clock::time_point deadline) override;
  void exchange(int stage, std::vector<CommOp>& ops, const Stream& stream,
                std::chrono::steady_clock::time_point deadline) override;
  // Summed on replica 0 (MPI_Ireduce), sent back to all (MPI_Ibcast), then scaled: every
  // replica gets the same bits, which an all-reduce does not promise.
  void average_gradients(int stage, const TensorView& grads, const Stream& stream,
                         std::chrono::steady_clock::time_point deadline) override;
  void abort(const std::string& why) override;
  // Collective over the pipeline's ranks (every rank starts every run). After a run that
  // failed, operations still pending (a send nobody will receive) are abandoned and the
  // transport moves to a fresh communicator, so the next run starts clean.
  void begin_run() override;

  const MpiTransportOptions& options() const { return options_; }

 private:
  struct PendingSend {
    MPI_Request request = MPI_REQUEST_NULL;
    // Header + data, alive until the send completes (not a vector: zero-filling 64 MiB
    // before overwriting it costs as much as the copy).
    std::unique_ptr<char[]> bytes;
    size_t size = 0;
  };
  int tag_for(MessageKind kind, int micro_batch) const;
  PendingSend post_send(int to_stage, MessageKind kind, int micro_batch, const TensorView& data,
                        const Stream& stream);
  // Tries once to receive the message for op; true when it arrived.
  bool try_receive(int stage, CommOp& op, const Stream& stream);
  // Drops the sends that have completed; waits for none.
  void reap_sends();
  void check_aborted() const;
  // Polls `request` as a receive is polled, until it completes or the deadline passes.
  void wait(MPI_Request* request, std::chrono::steady_clock::time_point deadline,
            const std::string& what);

  MPI_Comm parent_;
  MPI_Comm comm_ = MPI_COMM_NULL;
  // Communicators of failed runs, never freed: a message of a failed run may still be on its
  // way, and a freed communicator's context id can be handed to the next duplicate, which
  // would then match that stale message (seen: a later test's run hung on one).
  std::vector<MPI_Comm> abandoned_;
  MPI_Comm replicas_ = MPI_COMM_NULL;  // a duplicate of the caller's, or null
  int replica_count_ = 1;
  std::vector<int> ranks_;
  MpiTransportOptions options_;
  int tag_ub_ = 32767;
  std::vector<PendingSend> sends_;  // non-strict sends still in flight
  std::atomic<bool> aborted_{false};
  std::mutex abort_mutex_;    // one abort() at a time sets the reason
  std::string abort_reason_;  // written before aborted_ is set
  bool failed_ = false;       // the last run ended in an error: start the next one clean
};

}  // namespace augur
