// What `augur train` reports: metrics.jsonl (one JSON object a line) and metrics.csv (fixed
// columns), and the window of records between two progress lines. The window observes the
// engine's records on the training loop's own thread (pipeline/run_records.h).
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "pipeline/run_records.h"
#include "runtime/output_file.h"

namespace augur {

class MetricsLog {
 public:
  MetricsLog(const std::filesystem::path& dir, bool append);
  // Keeps the records in memory (a rank other than 0 of a multi-process run: rank 0
  // gathers them and alone writes the files).
  MetricsLog() = default;
  void write(const nlohmann::json& record);
  // The records kept in memory since the last call, one JSON object per line.
  std::string take_kept();

 private:
  bool files_ = false;
  std::filesystem::path dir_;
  AppendFile jsonl_, csv_;
  std::string kept_;
};

// Counts optimizer steps from the losses (one step per `micro_batches_per_step` losses) and
// every `print_freq` steps, and at the end of an epoch, prints a progress line and writes a
// "step" record: the window's loss, accuracy, images/s, and each stage's staleness,
// prediction quality and utilisation over the backwards it ran in the window.
class MetricsWindow : public RunObserver {
 public:
  struct Settings {
    int stages = 1;
    int64_t micro_batches_per_step = 1;
    int64_t steps_per_epoch = 1;
    int print_freq = 50;
    bool tty = false;
    // A rank of a multi-process run sees only its stage's records. When that stage is not
    // the last (no losses come), its backwards count the steps (micro_batches_per_step to a
    // step), so its window reports at the same steps as the last stage's with its own
    // figures; -1: the losses count them.
    int counting_stage = -1;
    bool print = true;  // the progress line (one rank of a job prints it)
  };
  // `lr_of_step(k)`: the learning rate optimizer step k (from 0) applied; the records show
  // the rate of the window's last step (stage threads may already be further ahead).
  MetricsWindow(Settings settings, MetricsLog* log, std::function<double(int64_t)> lr_of_step);

  void start_epoch(int64_t epoch, int64_t steps_done);
  // From the next loss on (at an epoch's start: a schedule with another M per step).
  void set_micro_batches_per_step(int64_t m) {
    s_.micro_batches_per_step = m;
    losses_seen_ = 0;
  }
  int64_t steps_done() const { return step_; }
  void on_record(const MicroBatchRecord& record) override;

 private:
  void count_step();
  void report();

  Settings s_;
  MetricsLog* log_;
  std::function<double(int64_t)> lr_of_step_;
  int64_t epoch_ = 0, step_ = 0, losses_seen_ = 0, window_steps_ = 0;
  double loss_sum_ = 0;
  int64_t samples_ = 0, correct_ = 0;
  std::chrono::steady_clock::time_point start_;
  std::vector<double> stale_sum_, quality_sum_, busy_now_, busy_at_window_;
  std::vector<int64_t> stale_n_, quality_n_;
};

// One job's step records from every rank's window (by rank; rank = stage x replicas +
// replica): per (epoch, step), each stage's figures averaged over its replicas, the loss and
// accuracy averaged over the last stage's replicas, their images/s summed.
std::vector<nlohmann::json> merge_step_records(const std::vector<std::string>& by_rank, int stages,
                                               int replicas);

std::string format_duration(double seconds);  // "1m27s"

}  // namespace augur
