#include "apps/metrics_window.h"

#include <cmath>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <utility>

#include "apps/launch_env.h"
#include "runtime/error.h"

namespace augur {

namespace fs = std::filesystem;

MetricsLog::MetricsLog(const fs::path& dir, bool append)
    : files_(true),
      dir_(dir),
      jsonl_((dir / "metrics.jsonl").string(), !append),
      csv_((dir / "metrics.csv").string(), !append) {
  if (!append)
    csv_.write(
        "kind,epoch,step,loss,top1,top5,lr,images_per_s,staleness_mean,quality_mean,"
        "utilisation_mean\n");
}

std::string MetricsLog::take_kept() {
  return std::exchange(kept_, std::string());
}

void MetricsLog::write(const nlohmann::json& j) {
  if (!files_) {
    kept_ += j.dump() + "\n";
    return;
  }
  jsonl_.write(j.dump() + "\n");
  auto num = [&](const char* k) -> std::string {
    if (!j.contains(k) || j[k].is_null()) return "";
    std::ostringstream os;
    os << j[k].get<double>();
    return os.str();
  };
  std::ostringstream row;
  row << j.value("kind", "") << "," << j.value("epoch", 0) << "," << j.value("step", 0) << ","
      << num("loss") << "," << num("top1") << "," << num("top5") << "," << num("lr") << ","
      << num("images_per_s") << "," << num("staleness_mean") << "," << num("quality_mean") << ","
      << num("utilisation_mean") << "\n";
  csv_.write(row.str());
}

std::vector<nlohmann::json> merge_step_records(const std::vector<std::string>& by_rank, int stages,
                                               int replicas) {
  AUGUR_CHECK(by_rank.size() == size_t(stages) * size_t(replicas), by_rank.size(),
              " ranks' records for ", stages, " stages x ", replicas, " replicas");
  // Each rank's step records, in order; the same (epoch, step) on every rank.
  std::vector<std::vector<nlohmann::json>> recs(by_rank.size());
  for (size_t rank = 0; rank < by_rank.size(); ++rank) {
    std::istringstream in(by_rank[rank]);
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) recs[rank].push_back(nlohmann::json::parse(line));
  }
  std::vector<nlohmann::json> out;
  const std::vector<nlohmann::json>& base = recs[size_t(rank_of(stages - 1, 0, replicas))];
  for (size_t i = 0; i < base.size(); ++i) {
    nlohmann::json rec = base[i];
    const auto same_step = [&](const nlohmann::json& r) {
      return r["epoch"] == rec["epoch"] && r["step"] == rec["step"];
    };
    double loss = 0, top1 = 0, ips = 0;
    for (int d = 0; d < replicas; ++d) {
      const auto& mine = recs[size_t(rank_of(stages - 1, d, replicas))];
      AUGUR_CHECK(i < mine.size() && same_step(mine[i]), "replica ", d,
                  "'s last stage has no step record for step ", rec["step"].dump());
      loss += mine[i]["loss"].get<double>() / replicas;
      top1 += mine[i]["top1"].get<double>() / replicas;
      ips += mine[i]["images_per_s"].get<double>();
    }
    rec["loss"] = loss;
    rec["top1"] = top1;
    rec["images_per_s"] = ips;
    for (const char* field :
         {"staleness_per_stage", "quality_per_stage", "utilisation_per_stage"}) {
      nlohmann::json per = nlohmann::json::array();
      for (int s = 0; s < stages; ++s) {
        double sum = 0;
        int n = 0;
        for (int d = 0; d < replicas; ++d) {
          const auto& mine = recs[size_t(rank_of(s, d, replicas))];
          AUGUR_CHECK(i < mine.size() && same_step(mine[i]), "stage ", s, ", replica ", d,
                      " has no step record for step ", rec["step"].dump());
          const nlohmann::json& v = mine[i][field][size_t(s)];
          if (v.is_null()) continue;
          sum += v.get<double>();
          ++n;
        }
        per.push_back(n ? nlohmann::json(sum / n) : nlohmann::json(nullptr));
      }
      rec[field] = per;
    }
    out.push_back(std::move(rec));
  }
  return out;
}

std::string format_duration(double seconds) {
  const int s = static_cast<int>(seconds + 0.5);
  std::ostringstream os;
  os << s / 60 << "m" << std::setw(2) << std::setfill('0') << s % 60 << "s";
  return os.str();
}

MetricsWindow::MetricsWindow(Settings settings, MetricsLog* log,
                             std::function<double(int64_t)> lr_of_step)
    : s_(settings), log_(log), lr_of_step_(std::move(lr_of_step)) {
  const size_t k = static_cast<size_t>(s_.stages);
  stale_sum_.assign(k, 0.0);
  quality_sum_.assign(k, 0.0);
  busy_now_.assign(k, 0.0);
  busy_at_window_.assign(k, 0.0);
  stale_n_.assign(k, 0);
  quality_n_.assign(k, 0);
}

void MetricsWindow::start_epoch(int64_t epoch, int64_t steps_done) {
  epoch_ = epoch;
  step_ = steps_done;
  start_ = std::chrono::steady_clock::now();
}

void MetricsWindow::on_record(const MicroBatchRecord& r) {
  const size_t k = static_cast<size_t>(r.stage);
  if (r.kind == MicroBatchRecord::Kind::Backward) {
    if (r.busy_ms < busy_now_[k]) busy_at_window_[k] -= busy_now_[k];  // a new run began
    busy_now_[k] = r.busy_ms;
    stale_sum_[k] += r.staleness;
    ++stale_n_[k];
    if (std::isfinite(r.quality)) {
      quality_sum_[k] += r.quality;
      ++quality_n_[k];
    }
    if (r.stage == s_.counting_stage) count_step();
    return;
  }
  loss_sum_ += double(r.loss) * r.samples;
  samples_ += r.samples;
  correct_ += r.correct_top1;
  if (s_.counting_stage < 0) count_step();
}

void MetricsWindow::count_step() {
  if (++losses_seen_ % s_.micro_batches_per_step != 0) return;
  ++step_;
  ++window_steps_;
  if (step_ % s_.print_freq == 0 || step_ % s_.steps_per_epoch == 0) report();
}

void MetricsWindow::report() {
  const auto now = std::chrono::steady_clock::now();
  const double secs = std::chrono::duration<double>(now - start_).count();
  const double ips = samples_ / std::max(secs, 1e-9);
  const int64_t in_epoch = (step_ - 1) % s_.steps_per_epoch + 1;
  const double eta = (s_.steps_per_epoch - in_epoch) * (secs / std::max<int64_t>(window_steps_, 1));
  const double lr = lr_of_step_(step_ - 1);
  const double loss = loss_sum_ / std::max<int64_t>(samples_, 1);
  const double top1 = 100.0 * correct_ / std::max<int64_t>(samples_, 1);
  if (s_.print) {
    std::ostringstream line;
    line << "epoch " << epoch_ << " [" << in_epoch << "/" << s_.steps_per_epoch << "] loss "
         << std::fixed << std::setprecision(4) << loss << " acc " << std::setprecision(2) << top1
         << "% lr " << std::setprecision(5) << lr << " " << std::setprecision(1) << ips
         << " img/s eta " << format_duration(eta);
    if (s_.tty)
      std::cerr << "\r" << line.str() << "\033[K" << std::flush;
    else
      std::cerr << line.str() << "\n";
  }
  nlohmann::json rec = {{"kind", "step"}, {"epoch", epoch_}, {"step", step_},      {"loss", loss},
                        {"top1", top1},   {"lr", lr},        {"images_per_s", ips}};
  if (samples_ == 0) rec["loss"] = rec["top1"] = rec["images_per_s"] = nullptr;  // elsewhere
  // Each stage's figures cover the backwards it ran in this window (upstream stages run
  // theirs later than the last stage).
  const size_t K = static_cast<size_t>(s_.stages);
  std::vector<nlohmann::json> stale(K), quality(K);
  std::vector<double> util(K);
  for (size_t r = 0; r < K; ++r) {
    util[r] = (busy_now_[r] - busy_at_window_[r]) / std::max(secs * 1e3, 1e-9);
    busy_at_window_[r] = busy_now_[r];
    if (stale_n_[r]) stale[r] = stale_sum_[r] / double(stale_n_[r]);
    if (quality_n_[r]) quality[r] = quality_sum_[r] / double(quality_n_[r]);
    stale_sum_[r] = quality_sum_[r] = 0;
    stale_n_[r] = quality_n_[r] = 0;
  }
  rec["staleness_per_stage"] = stale;
  rec["quality_per_stage"] = quality;
  rec["utilisation_per_stage"] = util;
  log_->write(rec);
  loss_sum_ = 0;
  samples_ = correct_ = window_steps_ = 0;
  start_ = now;
}

}  // namespace augur
