// Is CPU training input-bound? The loader's images/s (Fashion-MNIST when installed, else
// synthetic 28x28x1; batches of 64; training augmentation on; 1 and 2 workers) against the
// images/s resnet20 training consumes through the engine on the CPU (sequential, and the
// trainer's default 4-stage pipedream with weight prediction), fed from memory so the loader
// is not in the loop. The peer of each loader figure is the consumption rate: the input is
// the bottleneck when the loader is slower.
//
// Both are measured alone. In a real run the loader's workers and the training threads share
// the same cores, so the loader delivers less than its standalone rate while training runs.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_util.h"
#include "data/idx.h"
#include "data/loader.h"
#include "data/synthetic.h"
#include "pipeline/engine.h"
#include "pipeline/lowering.h"
#include "pipeline/partitioner.h"
#include "pipeline/schedule_generators.h"
#include "runtime/thread_pool.h"

using namespace augur;

namespace {

constexpr int64_t kBatch = 64;
constexpr int kSteps = 24;  // mini-batches of training timed per configuration

std::shared_ptr<const data::Dataset> dataset(std::string* label) {
  const std::string dir = data::kFashionMnistDir;
  if (std::filesystem::exists(dir + "/train-images-idx3-ubyte.gz") ||
      std::filesystem::exists(dir + "/train-images-idx3-ubyte")) {
    *label = "fashion-mnist train";
    return std::make_shared<data::IdxDataset>(
        data::IdxOptions::fashion_mnist(dir, data::Split::Train));
  }
  *label = "synthetic 28x28x1 (fashion-mnist not installed)";
  data::SyntheticOptions so;
  so.size = 20000;
  so.shape = {28, 28, 1};
  so.augment.pad = 2;
  return std::make_shared<data::SyntheticDataset>(so);
}

// Images/s of one pass over `limit` samples; the consumer only touches each batch.
double loader_images_per_s(const std::shared_ptr<const data::Dataset>& d, int workers,
                           int64_t limit) {
  data::LoaderOptions o;
  o.batch_size = kBatch;
  o.workers = workers;
  o.augment = true;
  o.seed = 1;
  o.limit = limit;
  data::Loader loader(d, o);
  int64_t epoch = 0, batches = 0;
  volatile float sink = 0;
  const bench::Timing t = bench::time_on_stream(
      [&] {
        loader.start_epoch(epoch++);
        while (auto b = loader.next()) {
          sink = sink + b->images.as<float>()[0];
          ++batches;
        }
      },
      Stream::cpu(), 1, 3);
  if (batches == 0) throw Error("the loader produced no batches");
  return static_cast<double>(loader.samples_per_epoch()) / (t.median_ms * 1e-3);
}

// kSteps mini-batches of `data` (real images, already loaded) through the engine.
struct Consumption {
  double images_per_s = 0;
  float first_loss = 0, last_loss = 0;
};

Consumption consumption(const ModelSpec& spec, ScheduleKind kind, int K, int micro_batches,
                        const std::vector<float>& images, const std::vector<int64_t>& labels,
                        int64_t pool_batches) {
  const std::vector<int> balance =
      K == 1 ? std::vector<int>{static_cast<int>(spec.units.size())}
             : partition(analytic_unit_costs(spec, kBatch), K, MemoryModel{});
  std::vector<StagePlacement> placement;
  for (const auto& range : stage_ranges(balance))
    placement.push_back({range.first, range.second, Device::cpu()});
  optim::OptimizerConfig oc;
  oc.sgd.momentum = 0.9;
  oc.sgd.weight_decay = 5e-4;
  EngineOptions eo;
  if (!is_synchronous(kind)) {  // the trainer's defaults
    eo.policy = WeightPolicy::Predict;
    eo.predictor = optim::Predictor::Nesterov;
  }
  Engine engine(spec, placement, oc, optim::LrSchedule::constant(0.05), 1, eo);
  const int64_t numel = 28 * 28;
  // Mini-batch b of the pool, micro-batch mb of it (micro_batches of the batch).
  auto slice = [&](int64_t b, int mb) {
    const int64_t per = kBatch / micro_batches;
    const int64_t first = (b % pool_batches) * kBatch + mb * per;
    MicroBatch m;
    m.images = TensorView(const_cast<float*>(images.data()) + first * numel, DType::F32,
                          Device::cpu(), Shape{per, 28, 28, 1});
    m.labels = TensorView(const_cast<int64_t*>(labels.data()) + first, DType::I64, Device::cpu(),
                          Shape{per});
    return m;
  };
  Consumption c;
  std::vector<float> losses;
  double wall_ms = 0;
  if (is_synchronous(kind)) {
    const Schedule s = lower(make_schedule(kind, K, micro_batches));
    (void)engine.run(s, [&](int mb) { return slice(0, mb); });  // warm-up
    for (int b = 0; b < kSteps; ++b) {
      const RunStats rs = engine.run(s, [&](int mb) { return slice(b, mb); });
      wall_ms += rs.wall_ms;
      losses.push_back(static_cast<float>(rs.mean_loss()));
    }
  } else {
    // As the trainer runs it: one pipeline run over the epoch, a mini-batch per micro-batch.
    (void)engine.run(lower(make_schedule(kind, K, K)), [&](int mb) { return slice(mb, 0); });
    const RunStats rs =
        engine.run(lower(make_schedule(kind, K, kSteps)), [&](int mb) { return slice(mb, 0); });
    wall_ms = rs.wall_ms;
    losses.assign(rs.losses.begin(), rs.losses.end());
  }
  for (float l : losses)
    if (!std::isfinite(l)) throw Error("training produced a non-finite loss");
  c.first_loss = losses.front();
  c.last_loss = losses.back();
  c.images_per_s = static_cast<double>(kSteps * kBatch) / (wall_ms * 1e-3);
  return c;
}

}  // namespace

static int bench_main(int argc, char** argv) {
  bench::check_arguments(argc, argv, {});
  const auto t0 = std::chrono::steady_clock::now();
  std::string label;
  const auto d = dataset(&label);
  std::printf(
      "input vs training on the CPU: %s, batch %lld, augmentation on; %u hardware "
      "threads, %d pool threads\n",
      label.c_str(), static_cast<long long>(kBatch), std::thread::hardware_concurrency(),
      ThreadPool::global().size());

  constexpr int64_t kLoaderSamples = 16384;
  std::vector<double> loader_rate;
  for (int workers : {1, 2}) {
    loader_rate.push_back(loader_images_per_s(d, workers, kLoaderSamples));
    std::printf("loader, %d worker%s:  %10.0f images/s\n", workers, workers == 1 ? " " : "s",
                loader_rate.back());
  }

  // Training data: real batches from the loader, held in memory (a few distinct batches,
  // cycled).
  constexpr int64_t kPoolBatches = 8;
  std::vector<float> images;
  std::vector<int64_t> labels;
  {
    data::LoaderOptions o;
    o.batch_size = kBatch;
    o.workers = 2;
    o.augment = true;
    o.seed = 2;
    o.limit = kPoolBatches * kBatch;
    data::Loader loader(d, o);
    loader.start_epoch(0);
    while (auto b = loader.next()) {
      const float* px = b->images.as<float>();
      const int64_t* lb = b->labels.as<int64_t>();
      images.insert(images.end(), px, px + b->size * 28 * 28);
      labels.insert(labels.end(), lb, lb + b->size);
    }
  }
  const ModelSpec spec = resnet_spec("resnet20", {d->num_classes(), 1, 28});
  struct Config {
    const char* name;
    ScheduleKind kind;
    int K, M;
  };
  // The verdict is for the trainer's defaults: 2 workers feeding 4-stage pipedream.
  bool default_bound = false;
  for (const Config& cfg :
       {Config{"sequential, 1 stage, 4 micro-batches of 16", ScheduleKind::Sequential, 1, 4},
        Config{"pipedream, 4 stages (predict, nesterov)", ScheduleKind::PipeDream, 4, 1}}) {
    const Consumption c = consumption(spec, cfg.kind, cfg.K, cfg.M, images, labels, kPoolBatches);
    std::printf("training %-44s %8.0f images/s  (loss %.3f -> %.3f over %d steps)\n", cfg.name,
                c.images_per_s, c.first_loss, c.last_loss, kSteps);
    for (size_t w = 0; w < loader_rate.size(); ++w) {
      const bool bound = loader_rate[w] < c.images_per_s;
      if (cfg.kind == ScheduleKind::PipeDream && w + 1 == 2) default_bound = bound;
      std::printf("  vs loader with %zu worker%s: loader / consumption = %6.1fx  input-bound: %s\n",
                  w + 1, w == 0 ? " " : "s", loader_rate[w] / c.images_per_s, bound ? "yes" : "no");
    }
  }
  std::printf("input-bound (trainer defaults: 2 workers, 4-stage pipedream): %s\n",
              default_bound ? "yes" : "no");
  std::printf("(%.0f s)\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return 0;
}

int main(int argc, char** argv) {
  return augur::bench::guarded_main(argc, argv, bench_main);
}
