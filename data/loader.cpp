#include "data/loader.h"

#include <algorithm>
#include <numeric>

#include "runtime/error.h"

namespace augur::data {

namespace {

// Separate streams for shuffling and augmentation under one seed.
constexpr uint64_t kShuffleStream = 0x5348'5546'464c'4521ull;
constexpr uint64_t kAugmentStream = 0x4155'474d'454e'5421ull;

// splitmix64 of x: Random(x).next_u64() is a good 64-bit mixer.
uint64_t mix(uint64_t x) {
  return Random(x).next_u64();
}

Random shuffle_rng(uint64_t seed, int64_t epoch) {
  return Random(mix(mix(seed ^ kShuffleStream) ^ static_cast<uint64_t>(epoch)));
}

}  // namespace

Random augmentation_rng(uint64_t seed, int64_t epoch, int64_t index) {
  return Random(mix(mix(mix(seed ^ kAugmentStream) ^ static_cast<uint64_t>(epoch)) ^
                    static_cast<uint64_t>(index)));
}

TensorView Batch::images_view() const {
  return TensorView(images.data(), DType::F32, Device::cpu(),
                    Shape::nhwc(size, shape.h, shape.w, shape.c));
}

TensorView Batch::labels_view() const {
  return TensorView(labels.data(), DType::I64, Device::cpu(), Shape{size});
}

// Finished batches come back here when the consumer lets go of them, so pinned memory is
// allocated once per buffer in circulation, not once per batch.
struct Loader::Pool {
  size_t image_bytes = 0;
  size_t label_bytes = 0;
  std::mutex mutex;
  std::vector<std::unique_ptr<Batch>> free;

  static std::shared_ptr<Batch> get(const std::shared_ptr<Pool>& pool) {
    std::unique_ptr<Batch> b;
    {
      std::lock_guard<std::mutex> lk(pool->mutex);
      if (!pool->free.empty()) {
        b = std::move(pool->free.back());
        pool->free.pop_back();
      }
    }
    if (!b) {
      b = std::make_unique<Batch>();
      b->images = PinnedBuffer(pool->image_bytes);
      b->labels = PinnedBuffer(pool->label_bytes);
    }
    return std::shared_ptr<Batch>(b.release(), [pool](Batch* p) {
      std::unique_ptr<Batch> owned(p);
      try {
        std::lock_guard<std::mutex> lk(pool->mutex);
        pool->free.push_back(std::move(owned));
      } catch (...) {
        // Out of memory growing the free list: the batch is simply freed.
      }
    });
  }
};

Loader::Loader(std::shared_ptr<const Dataset> dataset, const LoaderOptions& options)
    : dataset_(std::move(dataset)), options_(options) {
  AUGUR_ARG_CHECK(dataset_ != nullptr, "Loader: null dataset");
  AUGUR_ARG_CHECK(options.batch_size > 0, "Loader: batch_size must be > 0, got ",
                  options.batch_size);
  AUGUR_ARG_CHECK(options.workers >= 0, "Loader: workers must be >= 0, got ", options.workers);
  AUGUR_ARG_CHECK(options.prefetch >= 1, "Loader: prefetch must be >= 1, got ", options.prefetch);
  AUGUR_ARG_CHECK(options.limit >= 0, "Loader: limit must be >= 0, got ", options.limit);
  const ImageShape shape = dataset_->image_shape();
  if (options.normalize) {
    const Normalization n = dataset_->normalization();
    AUGUR_ARG_CHECK(static_cast<int64_t>(n.mean.size()) == shape.c &&
                        static_cast<int64_t>(n.std.size()) == shape.c,
                    "Loader: ", dataset_->name(), " has ", shape.c, " channels but ", n.mean.size(),
                    " normalisation means and ", n.std.size(), " stds");
  }
  samples_ = options.limit > 0 ? std::min(options.limit, dataset_->size()) : dataset_->size();
  pool_ = std::make_shared<Pool>();
  // A batch holds at most the samples there are: -b far above the data set's size must not
  // ask for memory no batch will use.
  const int64_t per_batch = std::max<int64_t>(1, std::min<int64_t>(options.batch_size, samples_));
  pool_->image_bytes = static_cast<size_t>(per_batch * shape.numel()) * sizeof(float);
  pool_->label_bytes = static_cast<size_t>(per_batch) * sizeof(int64_t);
  for (int i = 0; i < options.workers; ++i) workers_.emplace_back([this] { worker_loop(); });
}

Loader::~Loader() {
  {
    std::lock_guard<std::mutex> lk(mutex_);
    stop_ = true;
    ++generation_;
  }
  work_cv_.notify_all();
  for (std::thread& t : workers_) t.join();
}

int64_t Loader::batches_per_epoch() const {
  const int64_t b = options_.batch_size;
  return options_.drop_last ? samples_ / b : (samples_ + b - 1) / b;
}

std::vector<int64_t> Loader::epoch_order(int64_t epoch) const {
  std::vector<int64_t> order(static_cast<size_t>(samples_));
  std::iota(order.begin(), order.end(), int64_t(0));
  if (options_.shuffle) {
    Random rng = shuffle_rng(options_.seed, epoch);
    for (int64_t i = samples_ - 1; i > 0; --i) {
      const int64_t j = static_cast<int64_t>(rng.below(static_cast<uint64_t>(i + 1)));
      std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(j)]);
    }
  }
  return order;
}

void Loader::start_epoch(int64_t epoch, int64_t first_batch) {
  const int64_t batches = batches_per_epoch();
  AUGUR_ARG_CHECK(first_batch >= 0 && first_batch <= batches, "Loader::start_epoch: first batch ",
                  first_batch, " outside [0, ", batches, "]");
  std::vector<int64_t> order = epoch_order(epoch);
  std::unique_lock<std::mutex> lk(mutex_);
  ++generation_;
  active_ = false;
  ready_.clear();
  done_cv_.wait(lk, [&] { return in_flight_ == 0; });
  ready_.clear();
  order_ = std::move(order);
  epoch_ = epoch;
  batches_ = batches;
  next_claim_ = next_serve_ = first_batch;
  active_ = true;
  lk.unlock();
  work_cv_.notify_all();
}

std::shared_ptr<const Batch> Loader::next() {
  Slot slot;
  if (workers_.empty()) {
    AUGUR_ARG_CHECK(active_, "Loader::next called before start_epoch");
    if (next_serve_ >= batches_) return nullptr;
    slot = make_batch(next_serve_++, generation_);
  } else {
    std::unique_lock<std::mutex> lk(mutex_);
    AUGUR_ARG_CHECK(active_, "Loader::next called before start_epoch");
    if (next_serve_ >= batches_) return nullptr;
    done_cv_.wait(lk, [&] { return ready_.count(next_serve_) != 0; });
    auto it = ready_.find(next_serve_);
    slot = std::move(it->second);
    ready_.erase(it);
    ++next_serve_;
    lk.unlock();
    work_cv_.notify_all();
  }
  if (slot.error) std::rethrow_exception(slot.error);
  return slot.batch;
}

void Loader::worker_loop() {
  const int64_t window = std::max(options_.prefetch, options_.workers);
  std::unique_lock<std::mutex> lk(mutex_);
  for (;;) {
    work_cv_.wait(lk, [&] {
      return stop_ || (active_ && next_claim_ < batches_ && next_claim_ < next_serve_ + window);
    });
    if (stop_) return;
    const int64_t b = next_claim_++;
    const uint64_t generation = generation_;
    ++in_flight_;
    lk.unlock();
    Slot slot = make_batch(b, generation);
    lk.lock();
    --in_flight_;
    if (generation == generation_ && !stop_) ready_[b] = std::move(slot);
    done_cv_.notify_all();
  }
}

Loader::Slot Loader::make_batch(int64_t b, uint64_t generation) {
  const ImageShape shape = dataset_->image_shape();
  const int64_t numel = shape.numel();
  const int64_t begin = b * options_.batch_size;
  const int64_t count = std::min(options_.batch_size, samples_ - begin);
  Slot slot;
  int64_t current = -1;
  try {
    std::shared_ptr<Batch> batch = Pool::get(pool_);
    batch->epoch = epoch_;
    batch->index = b;
    batch->size = count;
    batch->shape = shape;
    batch->samples.resize(static_cast<size_t>(count));
    float* images = batch->images.as<float>();
    int64_t* labels = batch->labels.as<int64_t>();
    std::vector<float> inv_std, mean;
    if (options_.normalize) {
      const Normalization n = dataset_->normalization();
      mean = n.mean;
      for (float s : n.std) inv_std.push_back(1.0f / s);
    }
    for (int64_t i = 0; i < count; ++i) {
      if (generation_ != generation) return {};
      current = order_[static_cast<size_t>(begin + i)];
      batch->samples[static_cast<size_t>(i)] = current;
      float* img = images + i * numel;
      if (options_.augment) {
        Random rng = augmentation_rng(options_.seed, epoch_, current);
        dataset_->image(current, img, &rng);
      } else {
        dataset_->image(current, img, nullptr);
      }
      labels[i] = dataset_->label(current);
      if (options_.normalize) {
        for (int64_t p = 0; p < numel; p += shape.c)
          for (int64_t c = 0; c < shape.c; ++c) img[p + c] = (img[p + c] - mean[c]) * inv_std[c];
      }
    }
    slot.batch = std::move(batch);
  } catch (const std::exception& e) {
    slot.batch.reset();
    slot.error = std::make_exception_ptr(Error(detail::concat(
        "loading batch ", b, " of epoch ", epoch_, " from ", dataset_->name(),
        current >= 0 ? detail::concat(" (sample ", current, ")") : "", ": ", e.what())));
  }
  return slot;
}

}  // namespace augur::data
