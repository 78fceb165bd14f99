// The loader's throughput in images/s: synthetic 32x32x3, Fashion-MNIST (Debian's files when
// installed, else synthetic 28x28x1), CIFAR-shaped data read through the CIFAR-10 reader from
// a batch file written here, and ImageNet-shaped JPEGs through the image-folder reader, each
// with training augmentation and normalisation, with 1 and 2 worker threads. The peer is the
// same per-sample work (read, transform, normalise) done directly on the calling thread:
// the ratio shows what the workers add (about the worker count when cores are free) or cost.
// The trainer's consumption rate is compared elsewhere.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_util.h"
#include "data/cifar.h"
#include "data/idx.h"
#include "data/image_folder.h"
#include "data/jpeg.h"
#include "data/loader.h"
#include "data/synthetic.h"

using namespace augur;
using namespace augur::data;

namespace {

constexpr int64_t kBatch = 128;

// A folder removed at exit.
struct Scratch {
  std::filesystem::path path;
  Scratch() {
    path = std::filesystem::temp_directory_path() /
           ("augur-bench-loader-" +
            std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    std::filesystem::create_directories(path);
  }
  ~Scratch() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

// `n` CIFAR records made from synthetic 32x32x3 images (HWC -> the file's CHW planes).
void write_cifar(const std::string& file, int64_t n) {
  SyntheticOptions so;
  so.size = n;
  const SyntheticDataset src(so);
  std::vector<uint8_t> bytes;
  bytes.reserve(static_cast<size_t>(n * CifarDataset::kRecordBytes));
  for (int64_t i = 0; i < n; ++i) {
    const std::vector<uint8_t> px = src.raw(i);
    bytes.push_back(static_cast<uint8_t>(src.label(i)));
    for (int c = 0; c < 3; ++c)
      for (int p = 0; p < 1024; ++p) bytes.push_back(px[static_cast<size_t>(p * 3 + c)]);
  }
  std::FILE* f = std::fopen(file.c_str(), "wb");
  if (!f || std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size())
    throw Error("cannot write " + file);
  std::fclose(f);
}

// ImageNet-like JPEGs: 375x500 (a common ImageNet size), quality 90, `per_class` in each of
// four classes, made from upscaled synthetic gratings so they compress like photographs
// rather than like noise.
void write_jpegs(const std::string& root, int per_class) {
  SyntheticOptions so;
  so.size = 4 * per_class;
  so.shape = {375, 500, 3};
  so.num_classes = 4;
  const SyntheticDataset src(so);
  for (int64_t i = 0; i < so.size; ++i) {
    const std::string dir = root + "/train/class" + std::to_string(src.label(i));
    std::filesystem::create_directories(dir);
    const std::vector<uint8_t> px = src.raw(i);
    write_jpeg(dir + "/" + std::to_string(i) + ".jpg", px.data(), 375, 500, 90);
  }
}

// Direct production on this thread: the same work as a worker's, without the loader.
double direct_images_per_s(const Dataset& d, int64_t n, uint64_t seed) {
  std::vector<float> img(static_cast<size_t>(d.image_shape().numel()));
  const Normalization norm = d.normalization();
  const size_t c = static_cast<size_t>(d.image_shape().c);
  std::vector<float> inv_std;
  for (float v : norm.std) inv_std.push_back(1.0f / v);
  const bench::Timing t = bench::time_on_stream(
      [&] {
        for (int64_t i = 0; i < n; ++i) {
          Random rng = augmentation_rng(seed, 0, i);
          d.image(i, img.data(), &rng);
          for (size_t p = 0; p < img.size(); p += c)
            for (size_t ch = 0; ch < c; ++ch)
              img[p + ch] = (img[p + ch] - norm.mean[ch]) * inv_std[ch];
        }
      },
      Stream::cpu(), 1, 3);
  return static_cast<double>(n) / (t.median_ms * 1e-3);
}

LoaderOptions loader_options(int workers, int64_t limit) {
  LoaderOptions o;
  o.batch_size = kBatch;
  o.workers = workers;
  o.augment = true;
  o.seed = 1;
  o.limit = limit;
  return o;
}

// One epoch of `limit` samples through the loader; the consumer only touches each batch.
double loader_images_per_s(const std::shared_ptr<const Dataset>& d, int workers, int64_t limit) {
  Loader loader(d, loader_options(workers, limit));
  int64_t epoch = 0;
  volatile float sink = 0;
  const bench::Timing t = bench::time_on_stream(
      [&] {
        loader.start_epoch(epoch++);
        while (auto b = loader.next()) sink = sink + b->images.as<float>()[0];
      },
      Stream::cpu(), 1, 3);
  return static_cast<double>(loader.samples_per_epoch()) / (t.median_ms * 1e-3);
}

// Before timing: the loader with 2 workers yields exactly what direct production gives for
// the same samples (first batch of epoch 0).
bool correct(const std::shared_ptr<const Dataset>& d) {
  Loader loader(d, loader_options(2, kBatch));
  loader.start_epoch(0);
  auto b = loader.next();
  const Normalization norm = d->normalization();
  const int64_t numel = d->image_shape().numel(), c = d->image_shape().c;
  std::vector<float> img(static_cast<size_t>(numel));
  for (int64_t i = 0; i < b->size; ++i) {
    const int64_t s = b->samples[static_cast<size_t>(i)];
    Random rng = augmentation_rng(1, 0, s);
    d->image(s, img.data(), &rng);
    for (int64_t p = 0; p < numel; ++p) {
      const float want = (img[p] - norm.mean[p % c]) * (1.0f / norm.std[p % c]);
      if (b->images.as<float>()[i * numel + p] != want ||
          b->labels.as<int64_t>()[i] != d->label(s)) {
        std::printf("%s: loader output differs from direct production at sample %lld\n",
                    d->name().c_str(), static_cast<long long>(s));
        return false;
      }
    }
  }
  return true;
}

bool run(const std::string& label, const std::shared_ptr<const Dataset>& d, int64_t limit) {
  if (!correct(d)) return false;
  const double direct = direct_images_per_s(*d, std::min<int64_t>(limit, 4096), 1);
  std::printf("%-34s %-10s direct, 1 thread: %10.0f images/s\n", label.c_str(),
              d->image_shape().str().c_str(), direct);
  for (int workers : {1, 2}) {
    const double rate = loader_images_per_s(d, workers, limit);
    std::printf("%-34s %-10s loader, %d worker%s: %10.0f images/s  (%.2fx direct)\n", label.c_str(),
                d->image_shape().str().c_str(), workers, workers == 1 ? " " : "s", rate,
                rate / direct);
  }
  return true;
}

}  // namespace

static int bench_main(int argc, char** argv) {
  bench::check_arguments(argc, argv, {});
  std::printf(
      "loader throughput, batch %lld, augmentation and normalisation on; %u hardware "
      "threads\n",
      static_cast<long long>(kBatch), std::thread::hardware_concurrency());
  Scratch scratch;
  bool ok = true;

  SyntheticOptions s32;
  s32.size = 20000;
  ok &= run("synthetic (generated per sample)", std::make_shared<SyntheticDataset>(s32), 20000);

  const bool have_fmnist =
      std::filesystem::exists(std::string(kFashionMnistDir) + "/train-images-idx3-ubyte.gz") ||
      std::filesystem::exists(std::string(kFashionMnistDir) + "/train-images-idx3-ubyte");
  if (have_fmnist) {
    ok &=
        run("fashion-mnist train (IDX)",
            std::make_shared<IdxDataset>(IdxOptions::fashion_mnist(kFashionMnistDir, Split::Train)),
            60000);
  } else {
    std::printf("(fashion-mnist not installed in %s: synthetic 28x28x1 instead)\n",
                kFashionMnistDir);
    SyntheticOptions s28;
    s28.size = 20000;
    s28.shape = {28, 28, 1};
    s28.augment.pad = 2;
    ok &= run("synthetic 28x28x1", std::make_shared<SyntheticDataset>(s28), 20000);
  }

  write_cifar((scratch.path / "test_batch.bin").string(), 10000);
  CifarOptions co;
  co.dir = scratch.path.string();
  co.split = Split::Test;
  ok &= run("cifar-shaped (CIFAR-10 reader)", std::make_shared<CifarDataset>(co), 10000);

  write_jpegs((scratch.path / "imagenet").string(), 64);
  ImageFolderOptions fo;
  fo.root = (scratch.path / "imagenet").string();
  ok &= run("imagenet-shaped JPEG 375x500 -> 224", std::make_shared<ImageFolderDataset>(fo), 256);
  return ok ? 0 : 1;
}

int main(int argc, char** argv) {
  return augur::bench::guarded_main(argc, argv, bench_main);
}
