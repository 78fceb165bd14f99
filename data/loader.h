// The background loader: worker threads turn dataset samples into normalised NHWC float32
// batches in pinned host memory, a bounded number of batches ahead of the consumer, and
// hand them over in order.
//
// Determinism: the order of an epoch is a Fisher-Yates permutation drawn from (seed, epoch)
// alone, and the augmentation of a sample from (seed, epoch, dataset index) alone, so the
// batches do not depend on the number of workers, on timing, or on where an epoch was
// resumed. A worker's error reaches the consumer, at the batch it belongs to, as an
// augur::Error carrying the reader's message (which names the file).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "data/dataset.h"
#include "runtime/buffer.h"
#include "runtime/tensor.h"

namespace augur::data {

struct LoaderOptions {
  int64_t batch_size = 128;
  bool shuffle = true;
  uint64_t seed = 0;
  // Worker threads; 0 loads each batch on the consumer's thread inside next().
  int workers = 2;
  // Drop the last batch of an epoch when it is smaller than batch_size.
  bool drop_last = false;
  // Use the dataset's training augmentation (otherwise its evaluation transform).
  bool augment = false;
  // Use only the first `limit` samples of the dataset (0: all).
  int64_t limit = 0;
  // Batches made ahead of the consumer (at least `workers`, so none idles).
  int prefetch = 4;
  // Map x to (x - mean) / std with the dataset's statistics; false leaves pixels in [0, 1].
  bool normalize = true;
};

struct Batch {
  int64_t epoch = 0;
  int64_t index = 0;  // position within the epoch
  int64_t size = 0;   // samples; the last batch of an epoch may hold fewer than batch_size
  ImageShape shape;
  PinnedBuffer images;           // f32 NHWC, room for batch_size samples
  PinnedBuffer labels;           // i64
  std::vector<int64_t> samples;  // the dataset index of each sample

  TensorView images_view() const;  // f32 (size, h, w, c) on the CPU
  TensorView labels_view() const;  // i64 (size)
};

class Loader {
 public:
  Loader(std::shared_ptr<const Dataset> dataset, const LoaderOptions& options);
  // Stops the workers, abandoning the batches in progress; batches the consumer still
  // holds stay valid.
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  const Dataset& dataset() const { return *dataset_; }
  const LoaderOptions& options() const { return options_; }
  int64_t samples_per_epoch() const { return samples_; }
  int64_t batches_per_epoch() const;

  // Begins `epoch` at batch `first_batch` (for resuming mid-epoch: the same batches follow
  // as in an uninterrupted epoch). Abandons any epoch in progress.
  void start_epoch(int64_t epoch, int64_t first_batch = 0);
  // The next batch of the epoch, or null after its last one. Throws a worker's error.
  std::shared_ptr<const Batch> next();

  // The dataset indices of `epoch` in the order they are served (before drop_last).
  std::vector<int64_t> epoch_order(int64_t epoch) const;

 private:
  struct Pool;
  struct Slot {
    std::shared_ptr<Batch> batch;
    std::exception_ptr error;
  };

  void worker_loop();
  // Fills batch `b` of the current epoch; `generation` lets a superseded fill stop early.
  Slot make_batch(int64_t b, uint64_t generation);

  std::shared_ptr<const Dataset> dataset_;
  LoaderOptions options_;
  int64_t samples_ = 0;
  std::shared_ptr<Pool> pool_;

  std::mutex mutex_;
  std::condition_variable work_cv_;  // workers wait for claimable batches
  std::condition_variable done_cv_;  // the consumer waits for batches and idle workers
  bool stop_ = false;
  bool active_ = false;
  std::atomic<uint64_t> generation_{0};  // bumped by start_epoch and the destructor
  int64_t epoch_ = 0;
  std::vector<int64_t> order_;
  int64_t batches_ = 0;
  int64_t next_claim_ = 0;
  int64_t next_serve_ = 0;
  int in_flight_ = 0;
  std::map<int64_t, Slot> ready_;
  std::vector<std::thread> workers_;
};

// The generator of sample `index`'s augmentation in `epoch`.
Random augmentation_rng(uint64_t seed, int64_t epoch, int64_t index);

}  // namespace augur::data
