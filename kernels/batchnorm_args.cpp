#include "kernels/batchnorm_args.h"

#include <cmath>

#include "kernels/dispatch.h"

namespace augur::kernels::bn_args {

namespace {

BnDims activation(const char* op, const char* what, const TensorView& x, bool allow_f64) {
  require_float(op, what, x, allow_f64);
  AUGUR_ARG_CHECK(x.rank() == 4, op, ": ", what, " must be NHWC [N, H, W, C], got ", x.str());
  AUGUR_ARG_CHECK(!x.empty() || x.numel() == 0, op, ": ", what, " ", x.str(), " has no data");
  return {x.dim(0) * x.dim(1) * x.dim(2), x.dim(3)};
}

void like(const char* op, const char* what, const TensorView& v, const TensorView& x) {
  AUGUR_ARG_CHECK(v.shape() == x.shape() && v.dtype() == x.dtype(), op, ": ", what, " ", v.str(),
                  " does not match x ", x.str());
  AUGUR_ARG_CHECK(!v.empty() || v.numel() == 0, op, ": ", what, " ", v.str(), " has no data");
}

void optional_like(const char* op, const char* what, const TensorView& v, const TensorView& x) {
  if (!v.empty()) like(op, what, v, x);
}

// A per-channel vector [C] of the activations' dtype.
void channel_vector(const char* op, const char* what, const TensorView& v, int64_t channels,
                    DType dtype, const std::string& against) {
  AUGUR_ARG_CHECK(v.rank() == 1 && v.dim(0) == channels && v.dtype() == dtype, op, ": ", what, " ",
                  v.str(), " must be ", dtype_name(dtype), "[", channels, "] to match ", against);
  AUGUR_ARG_CHECK(!v.empty() || channels == 0, op, ": ", what, " ", v.str(), " has no data");
}

void check_eps(const char* op, double eps) {
  AUGUR_ARG_CHECK(std::isfinite(eps) && eps >= 0, op, ": eps ", eps, " must be finite and >= 0");
}

void check_momentum(const char* op, double momentum) {
  AUGUR_ARG_CHECK(momentum >= 0 && momentum <= 1, op, ": momentum ", momentum,
                  " must lie in [0, 1]");
}

void check_count(const char* op, int64_t count) {
  AUGUR_ARG_CHECK(count >= 2, op, ": count ", count,
                  " per channel; training needs more than one value per channel");
}

void distinct(const char* op, const char* a_name, const TensorView& a, const char* b_name,
              const TensorView& b) {
  AUGUR_ARG_CHECK(a.empty() || b.empty() || a.raw() != b.raw(), op, ": ", a_name, " ", a.str(),
                  " must not alias ", b_name, " ", b.str());
}

// mean and invstd as batchnorm_stats wrote them; returns C.
int64_t saved_stats(const char* op, const TensorView& mean, const TensorView& invstd,
                    bool allow_f64) {
  require_float(op, "mean", mean, allow_f64);
  AUGUR_ARG_CHECK(mean.rank() == 1, op, ": mean must be [C], got ", mean.str());
  channel_vector(op, "mean", mean, mean.dim(0), mean.dtype(), "mean " + mean.str());
  channel_vector(op, "invstd", invstd, mean.dim(0), mean.dtype(), "mean " + mean.str());
  return mean.dim(0);
}

}  // namespace

BnDims check_stats(const TensorView& x, const TensorView& mean, const TensorView& invstd,
                   double eps, bool allow_f64) {
  const char* op = "batchnorm_stats";
  const BnDims d = activation(op, "x", x, allow_f64);
  channel_vector(op, "mean", mean, d.channels, x.dtype(), "x " + x.str());
  channel_vector(op, "invstd", invstd, d.channels, x.dtype(), "x " + x.str());
  distinct(op, "mean", mean, "invstd", invstd);
  check_eps(op, eps);
  AUGUR_ARG_CHECK(d.rows >= 2, op, ": x ", x.str(), " has N*H*W = ", d.rows,
                  "; training needs more than one value per channel");
  return d;
}

int64_t check_update_running(const TensorView& mean, const TensorView& invstd, double eps,
                             int64_t count, double momentum, const TensorView& running_mean,
                             const TensorView& running_var, bool allow_f64) {
  const char* op = "batchnorm_update_running";
  const int64_t c = saved_stats(op, mean, invstd, allow_f64);
  channel_vector(op, "running_mean", running_mean, c, mean.dtype(), "mean " + mean.str());
  channel_vector(op, "running_var", running_var, c, mean.dtype(), "mean " + mean.str());
  distinct(op, "running_mean", running_mean, "running_var", running_var);
  check_eps(op, eps);
  check_count(op, count);
  check_momentum(op, momentum);
  return c;
}

int64_t check_accumulate_stats(const TensorView& mean, const TensorView& invstd, double eps,
                               int64_t count, const TensorView& acc, bool allow_f64) {
  const char* op = "batchnorm_accumulate_stats";
  const int64_t c = saved_stats(op, mean, invstd, allow_f64);
  AUGUR_ARG_CHECK(acc.rank() == 2 && acc.dim(0) == 3 && acc.dim(1) == c &&
                      acc.dtype() == mean.dtype() && !acc.empty(),
                  op, ": accumulator ", acc.str(), " must be ", dtype_name(mean.dtype()), "[3, ", c,
                  "] to match mean ", mean.str());
  check_eps(op, eps);
  check_count(op, count);
  return c;
}

int64_t check_apply_deferred(const TensorView& acc, double momentum, const TensorView& running_mean,
                             const TensorView& running_var, bool allow_f64) {
  const char* op = "batchnorm_apply_deferred";
  require_float(op, "accumulator", acc, allow_f64);
  AUGUR_ARG_CHECK(acc.rank() == 2 && acc.dim(0) == 3 && !acc.empty(), op, ": accumulator ",
                  acc.str(), " must be [3, C]");
  const int64_t c = acc.dim(1);
  channel_vector(op, "running_mean", running_mean, c, acc.dtype(), "accumulator " + acc.str());
  channel_vector(op, "running_var", running_var, c, acc.dtype(), "accumulator " + acc.str());
  distinct(op, "running_mean", running_mean, "running_var", running_var);
  check_momentum(op, momentum);
  return c;
}

BnDims check_forward_train(const TensorView& x, const TensorView& gamma, const TensorView& beta,
                           const TensorView& mean, const TensorView& invstd,
                           const TensorView& residual, const TensorView& y, bool allow_f64) {
  const char* op = "batchnorm_forward_train";
  const BnDims d = activation(op, "x", x, allow_f64);
  const std::string against = "x " + x.str();
  channel_vector(op, "gamma", gamma, d.channels, x.dtype(), against);
  channel_vector(op, "beta", beta, d.channels, x.dtype(), against);
  channel_vector(op, "mean", mean, d.channels, x.dtype(), against);
  channel_vector(op, "invstd", invstd, d.channels, x.dtype(), against);
  optional_like(op, "residual", residual, x);
  like(op, "y", y, x);
  return d;
}

BnDims check_forward_infer(const TensorView& x, const TensorView& gamma, const TensorView& beta,
                           const TensorView& running_mean, const TensorView& running_var,
                           double eps, const TensorView& residual, const TensorView& y,
                           bool allow_f64) {
  const char* op = "batchnorm_forward_infer";
  const BnDims d = activation(op, "x", x, allow_f64);
  const std::string against = "x " + x.str();
  channel_vector(op, "gamma", gamma, d.channels, x.dtype(), against);
  channel_vector(op, "beta", beta, d.channels, x.dtype(), against);
  channel_vector(op, "running_mean", running_mean, d.channels, x.dtype(), against);
  channel_vector(op, "running_var", running_var, d.channels, x.dtype(), against);
  check_eps(op, eps);
  optional_like(op, "residual", residual, x);
  like(op, "y", y, x);
  return d;
}

BnDims check_backward(const TensorView& x, const TensorView& y, const TensorView& dy,
                      const TensorView& gamma, const TensorView& mean, const TensorView& invstd,
                      BnActivation act, const TensorView& dx, const TensorView& dgamma,
                      const TensorView& dbeta, const TensorView& dresidual, bool allow_f64) {
  const char* op = "batchnorm_backward";
  const BnDims d = activation(op, "x", x, allow_f64);
  const std::string against = "x " + x.str();
  if (act == BnActivation::Relu) {
    AUGUR_ARG_CHECK(!y.empty() || x.numel() == 0, op,
                    ": the fused ReLU needs the saved output y for its mask; y is empty");
    like(op, "y", y, x);
  } else {
    optional_like(op, "y", y, x);
  }
  like(op, "dy", dy, x);
  like(op, "dx", dx, x);
  optional_like(op, "dresidual", dresidual, x);
  channel_vector(op, "gamma", gamma, d.channels, x.dtype(), against);
  channel_vector(op, "mean", mean, d.channels, x.dtype(), against);
  channel_vector(op, "invstd", invstd, d.channels, x.dtype(), against);
  channel_vector(op, "dgamma", dgamma, d.channels, x.dtype(), against);
  channel_vector(op, "dbeta", dbeta, d.channels, x.dtype(), against);
  distinct(op, "dx", dx, "dresidual", dresidual);
  distinct(op, "dx", dx, "x", x);
  distinct(op, "dx", dx, "y", y);
  distinct(op, "dresidual", dresidual, "x", x);
  distinct(op, "dresidual", dresidual, "y", y);
  distinct(op, "dgamma", dgamma, "dbeta", dbeta);
  AUGUR_ARG_CHECK(d.rows >= 2 || x.numel() == 0, op, ": x ", x.str(), " has N*H*W = ", d.rows,
                  "; training needs more than one value per channel");
  return d;
}

}  // namespace augur::kernels::bn_args
