// `augur step`: one forward and backward (or N optimizer steps) of a whole model on a given
// batch, written out as safetensors, for checking Augur's numerics against other frameworks.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <iostream>
#include <memory>

#include "apps/batch_file.h"
#include "apps/commands.h"
#include "apps/flag_checks.h"
#include "apps/precision.h"
#include "kernels/convert.h"
#include "kernels/elementwise.h"
#include "layers/softmax_cross_entropy.h"
#include "models/resnet.h"
#include "models/state_dict.h"
#include "optim/optimizer.h"
#include "runtime/device.h"
#include "runtime/host_data.h"
#include "runtime/limits.h"

namespace augur {

namespace {

struct StepOptions {
  std::string model, weights, batch, out, device = "cpu";
  int num_classes = 0;  // 0: 1000 for ImageNet models, 10 for CIFAR models
  int in_channels = 0;  // 0: from the batch
  uint64_t seed = 0;
  bool eval = false;
  double label_smoothing = 0;
  std::string dtype = "f32";
  std::string precision = "fp32";  // fp32, tf32 or bf16 (apps/precision.h); --dtype f32 only
  // Optimizer steps on the same batch (0: one forward/backward, no update).
  int steps = 0;
  std::string optimizer = "sgd";
  double lr = 0.1, momentum = 0.9, wd = 0.0;
  bool nesterov = false;
};

// Floating tensors in the computation's dtype: f32, or f64 on CPU for checking numerics
// without f32 rounding (results are written as f32 either way).
Tensor upload_as(const std::vector<float>& host, Shape shape, DType dtype, const Device& d,
                 const Stream& s) {
  if (dtype == DType::F32) return make_tensor(host, shape, d, s);
  return make_tensor(std::vector<double>(host.begin(), host.end()), shape, d, s);
}

std::vector<float> download_as_f32(const TensorView& t, const Stream& s) {
  if (t.dtype() == DType::F32) return to_vector<float>(t, s);
  if (t.dtype() == DType::BF16) {  // widened exactly
    Tensor wide = Tensor::empty(t.shape(), DType::F32, t.device(), &s);
    kernels::convert(t, wide, s);
    return to_vector<float>(wide, s);
  }
  const std::vector<double> d = to_vector<double>(t, s);
  return std::vector<float>(d.begin(), d.end());
}

int run_step(const StepOptions& o) {
  const Device device = Device::parse(o.device);
  require_device(device);
  const HostBatch batch = read_batch(o.batch);
  if (batch.h != batch.w)
    throw Error("--batch '" + o.batch + "': images must be square, got " + std::to_string(batch.h) +
                "x" + std::to_string(batch.w));
  if (o.in_channels && o.in_channels != batch.c)
    throw Error("--in-channels " + std::to_string(o.in_channels) + " but the batch has " +
                std::to_string(batch.c) + " channels");
  ResNetOptions ropt{o.num_classes, static_cast<int>(batch.c), static_cast<int>(batch.h)};
  if (ropt.num_classes == 0) ropt.num_classes = resnet_defaults(o.model).num_classes;
  const ModelSpec spec = resnet_spec(o.model, ropt);
  const StageNet net = build_model(spec);

  std::vector<float> weights, state;
  if (o.weights.empty())
    initialize_stage(net, o.seed, &weights, &state);
  else
    import_state_dict(net, SafetensorsFile::read(o.weights), &weights, &state);
  for (int64_t label : batch.labels)
    if (label < 0 || label >= ropt.num_classes)
      throw Error("--batch '" + o.batch + "': label " + std::to_string(label) +
                  " is out of range [0, " + std::to_string(ropt.num_classes) + ")");

  const DType dtype = o.dtype == "f64" ? DType::F64 : DType::F32;
  if (dtype == DType::F64 && !device.is_cpu())
    throw Error("--dtype f64 runs on the CPU reference only, not on " + device.str());
  if (dtype == DType::F64 && o.precision != "fp32")
    throw Error("--dtype f64 with --precision " + o.precision +
                ": the f64 reference has no reduced precision");
  const Precision precision = resolve_precision(o.precision, {device});
  apply_precision(precision);
  const DType compute = dtype == DType::F64 ? DType::F64 : compute_dtype(precision);
  Stream stream = Stream::create(device);
  // Master weights in `dtype` (what the optimizer updates and what is written out); the
  // passes compute with `wc`, their bf16 copy under --precision bf16.
  Tensor w = upload_as(weights, Shape{net.params.size()}, dtype, device, stream);
  Tensor w_bf16;
  if (compute == DType::BF16) {
    w_bf16 = Tensor::empty(w.shape(), DType::BF16, device, &stream);
    kernels::convert(w, w_bf16, stream);
  }
  const TensorView wc = compute == DType::BF16 ? w_bf16.view() : w.view();
  Tensor st = upload_as(state, Shape{net.state.size()}, dtype, device, stream);
  Tensor g = Tensor::zeros(Shape{net.params.size()}, dtype, device, stream);
  Tensor x = upload_as(batch.images_nhwc, Shape::nhwc(batch.n, batch.h, batch.w, batch.c), dtype,
                       device, stream);
  if (compute == DType::BF16) {
    Tensor xb = Tensor::empty(x.shape(), DType::BF16, device, &stream);
    kernels::convert(x, xb, stream);
    x = std::move(xb);
  }
  Tensor labels = make_tensor(batch.labels, Shape{batch.n}, device, stream);

  Pass pass;
  pass.stream = &stream;
  pass.weights = wc;
  pass.grads = g;
  pass.state = st;
  pass.training = !o.eval;
  const SoftmaxCrossEntropy xent(o.label_smoothing);

  std::unique_ptr<optim::Optimizer> opt;
  if (o.steps > 0) {
    const optim::OptimizerConfig cfg =
        optim::optimizer_config(o.optimizer, o.momentum, o.wd, o.nesterov);
    // Every parameter decays, as with a plain torch.optim optimizer over model.parameters().
    opt = std::make_unique<optim::Optimizer>(cfg, optim::LrSchedule::constant(o.lr),
                                             optim::DecayMask::all(net.params.size()), device,
                                             stream, dtype);
  }

  // One forward/backward (steps = 0), or `steps` of forward, backward and update. The logits
  // and gradients written are those of the last forward/backward.
  std::vector<float> losses, host_logits, host_grads;
  const int passes = std::max(1, o.steps);
  for (int i = 0; i < passes; ++i) {
    Saved saved;
    const TensorView logits = net.net->forward(pass, saved, x);
    Tensor loss;
    if (o.eval) {
      loss = xent.loss(logits, labels, stream);
    } else {
      Tensor dlogits;
      loss = xent.forward_backward(logits, labels, &dlogits, stream);
      (void)net.net->backward(pass, saved, dlogits, false);
    }
    losses.push_back(download_as_f32(loss, stream)[0]);
    if (!std::isfinite(losses.back()))
      throw Error("loss is " + std::to_string(losses.back()) + " at step " + std::to_string(i) +
                  "; nothing was written to '" + o.out + "'");
    host_logits = download_as_f32(logits, stream);
    if (!o.eval) host_grads = download_as_f32(g, stream);
    if (opt) {
      opt->step(w, g, stream);
      if (compute == DType::BF16) kernels::convert(w, w_bf16, stream);
    }
  }

  SafetensorsWriter out;
  out.add("logits", "F32", {batch.n, ropt.num_classes}, host_logits.data(),
          host_logits.size() * sizeof(float));
  out.add("loss", "F32", {static_cast<int64_t>(losses.size())}, losses.data(),
          losses.size() * sizeof(float));
  if (!o.eval) export_parameters(net, host_grads, &out, "grad.");
  export_parameters(net, download_as_f32(w, stream), &out);
  export_buffers(net, download_as_f32(st, stream), &out);
  out.add_metadata("model", o.model);
  out.add_metadata("device", device.str());
  out.add_metadata("precision", dtype == DType::F64 ? "f64" : precision_name(precision));
  out.write(o.out);
  std::cout << o.model << " on " << device.str() << ": batch " << batch.n << "x" << batch.c << "x"
            << batch.h << "x" << batch.w << ", loss " << losses.front();
  if (losses.size() > 1) std::cout << " ... " << losses.back() << " after " << o.steps << " steps";
  std::cout << " -> " << o.out << "\n";
  return 0;
}

}  // namespace

void register_step_command(CLI::App& app) {
  CLI::App* sub = app.add_subcommand(
      "step",
      "Run one forward/backward of a model on a batch and write logits, loss, gradients "
      "and the model's state as safetensors");
  auto o = std::make_shared<StepOptions>();
  sub->add_option("--model", o->model, "Model name")
      ->required()
      ->check(CLI::IsMember(resnet_names()));
  sub->add_option("--num-classes", o->num_classes,
                  "Classifier outputs (default 1000, or 10 for CIFAR models)")
      ->check(positive_integer(limits::kClasses));
  sub->add_option("--in-channels", o->in_channels, "Input channels (default: the batch's)")
      ->check(positive_integer(limits::kInChannels));
  sub->add_option("--weights", o->weights,
                  "torchvision state_dict as safetensors (default: seeded init)")
      ->check(CLI::ExistingFile);
  sub->add_option("--batch", o->batch, "safetensors with images F32 [N,C,H,W] and labels I64 [N]")
      ->required()
      ->check(CLI::ExistingFile);
  sub->add_option("--out", o->out, "Output safetensors file")->required();
  sub->add_option("--device", o->device, "cpu or cuda:N");
  sub->add_option("--seed", o->seed, "Initialisation seed when no --weights are given")
      ->check(unsigned_integer());
  sub->add_option("--label-smoothing", o->label_smoothing, "Label smoothing in [0, 1]")
      ->check(real_in(0.0, 1.0));
  sub->add_option("--dtype", o->dtype, "Compute in f32, or in f64 on the CPU reference")
      ->check(CLI::IsMember({"f32", "f64"}));
  sub->add_option("--precision", o->precision,
                  "fp32, tf32 (GPU) or bf16 (bf16 activations and compute weights, f32 master "
                  "weights, gradients and statistics)")
      ->check(CLI::IsMember(precision_names()));
  sub->add_option("--steps", o->steps, "Optimizer steps on the batch (0: forward/backward only)")
      ->check(non_negative_integer());
  sub->add_option("--optimizer", o->optimizer, "sgd or adamw")
      ->check(CLI::IsMember(optim::optimizer_kind_names()));
  sub->add_option("--lr", o->lr, "Learning rate")->check(positive_real());
  sub->add_option("--momentum", o->momentum, "SGD momentum")->check(real_in(0.0, 1.0));
  sub->add_option("--wd", o->wd, "Weight decay")->check(non_negative_real());
  sub->add_flag("--nesterov", o->nesterov, "Nesterov momentum (SGD)");
  sub->add_flag("--eval", o->eval, "Forward only, in inference mode (running statistics)");
  set_command_runner(sub, [o, sub] {
    if (o->eval && o->steps > 0)
      throw CLI::ValidationError("--steps", "cannot be used with --eval");
    for (const char* flag : {"--optimizer", "--lr", "--momentum", "--wd", "--nesterov"})
      if (sub->count(flag) && o->steps == 0)
        throw CLI::ValidationError(flag, "only meaningful with --steps N");
    return run_step(*o);
  });
}

}  // namespace augur
