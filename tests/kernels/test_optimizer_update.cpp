// The fused optimizer kernel against its parts: one pass that updates and predicts must give,
// bit for bit, what a step followed by a predict-only pass gives. The update rules themselves
// are anchored by hand-derived sequences in tests/optim/.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "kernels/optimizer_math.h"
#include "kernels/optimizer_update.h"
#include "tests/support/close.h"
#include "tests/support/gpu.h"
#include "tests/support/random.h"
#include "tests/support/tensors.h"

using namespace augur;
using namespace augur::test;
namespace k = augur::kernels;

namespace {

struct Case {
  const char* name;
  k::StepScalars step;
  k::PredictScalars predict;
};

std::vector<Case> cases() {
  std::vector<Case> out;
  k::StepScalars s;
  s.lr = 0.1;
  s.weight_decay = 0.01;
  k::PredictScalars affine;
  affine.form = k::PredictForm::Affine;
  affine.dw[0] = -3e-3;
  affine.cv[0] = affine.cv[1] = -0.27;
  affine.cg[0] = -0.3;
  affine.cg[1] = -0.25;
  out.push_back({"sgd", s, affine});
  s.momentum = 0.9;
  out.push_back({"sgd momentum", s, affine});
  s.first_step = true;
  out.push_back({"sgd momentum first step", s, affine});
  s.first_step = false;
  s.nesterov = true;
  out.push_back({"sgd nesterov", s, affine});
  out.push_back({"sgd nesterov, identity prediction", s, k::PredictScalars{}});
  // Spike compensation at staleness 7: u = 0.9^7 v + (1 - 0.9^7)/(1 - 0.9) d.
  s.nesterov = false;
  s.spike = true;
  s.spike_velocity = 0.4782969;
  s.spike_gradient = 5.217031;
  out.push_back({"sgd spike compensation", s, affine});
  s.spike = false;
  k::StepScalars a;
  a.rule = k::UpdateRule::AdamW;
  a.lr = 1e-2;
  a.weight_decay = 0.1;
  a.adam_step = 5;
  k::PredictScalars dir;
  dir.form = k::PredictForm::AdamWDirection;
  dir.dw[0] = -2e-3;
  dir.cv[0] = dir.cv[1] = -0.05;
  out.push_back({"adamw", a, dir});
  a.first_step = true;
  a.adam_step = 1;
  out.push_back({"adamw first step", a, dir});
  return out;
}

// Excluded intervals with odd boundaries, clipped to n.
std::vector<int64_t> table_for(int64_t n) {
  std::vector<int64_t> t;
  for (auto [b, e] : std::vector<std::pair<int64_t, int64_t>>{
           {3, 10}, {17, 18}, {40, 1001}, {20000, 20003}, {n - 5, n}}) {
    b = std::max<int64_t>(b, t.empty() ? 0 : t.back());
    e = std::min(e, n);
    if (b < e) {
      t.push_back(b);
      t.push_back(e);
    }
  }
  return t;
}

template <class T>
struct Arenas {
  Tensor w, g, s1, s2, pred, table;
};

template <class T>
Arenas<T> make_arenas(int64_t n, DType pred_dtype, const Device& d, const Stream& s) {
  Arenas<T> a;
  auto vals = [&](uint64_t seed, T lo, T hi) {
    const auto v = random_doubles(n, seed, lo, hi);
    return make_tensor(std::vector<T>(v.begin(), v.end()), Shape{n}, d, s);
  };
  a.w = vals(1, -1, 1);
  a.g = vals(2, -1, 1);
  a.s1 = vals(3, -1, 1);
  a.s2 = vals(4, 0, 1);  // a second moment is non-negative
  a.pred = Tensor::zeros(Shape{n}, pred_dtype, d, s);
  const auto t = table_for(n);
  if (!t.empty()) a.table = make_tensor(t, Shape{static_cast<int64_t>(t.size() / 2), 2}, d, s);
  return a;
}

template <class T>
std::vector<uint8_t> bytes_of(const TensorView& v, const Stream& s) {
  if (v.dtype() == DType::BF16) {
    const auto x = to_vector<bf16>(v, s);
    std::vector<uint8_t> b(x.size() * 2);
    std::memcpy(b.data(), x.data(), b.size());
    return b;
  }
  const auto x = to_vector<T>(v, s);
  std::vector<uint8_t> b(x.size() * sizeof(T));
  std::memcpy(b.data(), x.data(), b.size());
  return b;
}

template <class T>
void check_fused_equals_separate(DType pred_dtype) {
  const Stream& s = Stream::cpu();
  for (const Case& c : cases()) {
    for (int64_t n : {1, 7, 100003}) {
      INFO(c.name << ", n = " << n << ", predicted " << dtype_name(pred_dtype));
      Arenas<T> f = make_arenas<T>(n, pred_dtype, Device::cpu(), s);
      Arenas<T> p = make_arenas<T>(n, pred_dtype, Device::cpu(), s);
      const std::vector<T> g_saved = to_vector<T>(p.g, s);
      k::optimizer_step(f.w, f.g, f.s1, f.s2, f.table, f.pred, c.step, c.predict, s);
      k::optimizer_step(p.w, p.g, p.s1, p.s2, p.table, TensorView(), c.step, c.predict, s);
      Tensor g_last = make_tensor(g_saved, Shape{n}, Device::cpu(), s);
      k::predict_weights(p.w, g_last, p.s1, p.s2, p.table, p.pred, c.step, c.predict, s);
      CHECK(bytes_of<T>(f.pred, s) == bytes_of<T>(p.pred, s));
      CHECK(bytes_of<T>(f.w, s) == bytes_of<T>(p.w, s));
      CHECK(bytes_of<T>(f.s1, s) == bytes_of<T>(p.s1, s));
      CHECK(bytes_of<T>(f.s2, s) == bytes_of<T>(p.s2, s));
      CHECK(to_vector<T>(f.g, s) == std::vector<T>(n, T(0)));
    }
  }
}

}  // namespace

TEST_CASE("optimizer_step on a hand-computed element", "[kernels][optimizer]") {
  const Stream& s = Stream::cpu();
  // Two elements, the second excluded from weight decay; momentum 0.9, wd 0.1, lr 0.1, first
  // step (the state holds NaN and must not be read).
  Tensor w = make_tensor<double>({1.0, 1.0}, Shape{2}, Device::cpu(), s);
  Tensor g = make_tensor<double>({0.5, 0.5}, Shape{2}, Device::cpu(), s);
  Tensor v = make_tensor<double>({NAN, NAN}, Shape{2}, Device::cpu(), s);
  Tensor table = make_tensor<int64_t>({1, 2}, Shape{1, 2}, Device::cpu(), s);
  Tensor pred = Tensor::zeros(Shape{2}, DType::F64, Device::cpu(), s);
  k::StepScalars st;
  st.lr = 0.1;
  st.momentum = 0.9;
  st.weight_decay = 0.1;
  st.first_step = true;
  k::PredictScalars p;
  p.form = k::PredictForm::Affine;
  p.dw[0] = p.dw[1] = -0.5;
  p.cv[0] = p.cv[1] = 0.25;
  p.cg[0] = p.cg[1] = 2.0;
  k::optimizer_step(w, g, v, TensorView(), table, pred, st, p, s);
  // Element 0: d = 0.5 + 0.1*1 = 0.6 = v, w = 1 - 0.06 = 0.94,
  //   pred = 0.94 + (-0.5*0.94 + 0.25*0.6 + 2*0.5) = 1.62.
  // Element 1: d = 0.5 = v, w = 0.95, pred = 0.95 + (-0.475 + 0.125 + 1) = 1.6.
  const Tolerance tol = tolerance_for(DType::F64, 4, 2.0);
  AUGUR_CHECK_CLOSE(to_vector<double>(w, s), std::vector<double>({0.94, 0.95}), tol);
  AUGUR_CHECK_CLOSE(to_vector<double>(v, s), std::vector<double>({0.6, 0.5}), tol);
  AUGUR_CHECK_CLOSE(to_vector<double>(pred, s), std::vector<double>({1.62, 1.6}), tol);
  CHECK(to_vector<double>(g, s) == std::vector<double>({0.0, 0.0}));
}

TEST_CASE("fused update-and-predict equals update then predict, bit for bit",
          "[kernels][optimizer]") {
  SECTION("f32, f32 prediction") {
    check_fused_equals_separate<float>(DType::F32);
  }
  SECTION("f32, bf16 prediction") {
    check_fused_equals_separate<float>(DType::BF16);
  }
  SECTION("f64") {
    check_fused_equals_separate<double>(DType::F64);
  }
}

TEST_CASE("optimizer_step keeps the gradients when asked and ignores the prediction form then",
          "[kernels][optimizer]") {
  const Stream& s = Stream::cpu();
  Arenas<float> a = make_arenas<float>(100, DType::F32, Device::cpu(), s);
  const auto g0 = to_vector<float>(a.g, s);
  k::StepScalars st;
  st.lr = 0.1;
  st.zero_grads = false;
  const auto w0 = to_vector<float>(a.w, s);
  k::optimizer_step(a.w, a.g, TensorView(), TensorView(), TensorView(), a.pred, st,
                    k::PredictScalars{}, s);
  CHECK(to_vector<float>(a.g, s) == g0);
  // Identity prediction = the updated weights; plain SGD: w - lr*g.
  const auto w1 = to_vector<float>(a.w, s);
  CHECK(to_vector<float>(a.pred, s) == w1);
  for (size_t i = 0; i < w0.size(); ++i) CHECK(w1[i] == w0[i] - 0.1f * g0[i]);
}

TEST_CASE("momentum SGD without a prediction keeps the gradients when asked, bit for bit",
          "[kernels][optimizer]") {
  // Steady-state momentum SGD without a prediction takes the CPU's vectorised loop; writing a
  // prediction takes the generic one. Both must leave the same weights and momentum.
  const Stream& s = Stream::cpu();
  for (const char* form : {"plain", "nesterov", "spike"}) {
    INFO(form);
    const std::string f = form;
    Arenas<float> fast = make_arenas<float>(100003, DType::F32, Device::cpu(), s);
    Arenas<float> generic = make_arenas<float>(100003, DType::F32, Device::cpu(), s);
    const auto g0 = to_vector<float>(fast.g, s);
    k::StepScalars st;
    st.lr = 0.1;
    st.weight_decay = 0.01;
    st.momentum = 0.9;
    st.nesterov = f == "nesterov";
    st.spike = f == "spike";
    st.spike_velocity = 0.729;  // staleness 3
    st.spike_gradient = 2.71;
    st.zero_grads = false;
    k::optimizer_step(fast.w, fast.g, fast.s1, TensorView(), fast.table, TensorView(), st,
                      k::PredictScalars{}, s);
    k::optimizer_step(generic.w, generic.g, generic.s1, TensorView(), generic.table, generic.pred,
                      st, k::PredictScalars{}, s);
    CHECK(to_vector<float>(fast.g, s) == g0);
    CHECK(bytes_of<float>(fast.w, s) == bytes_of<float>(generic.w, s));
    CHECK(bytes_of<float>(fast.s1, s) == bytes_of<float>(generic.s1, s));
  }
}

TEST_CASE("the CUDA kernel's traversal visits each element once, with a valid decay cursor",
          "[kernels][optimizer]") {
  // Replays the grid-stride loop of kernels/optimizer_update.cu on the host: every thread's
  // cursor starts at grid_stride_first_index and must answer each element it visits as a
  // lookup in the whole table would.
  for (int64_t vec : {1, 4}) {
    for (int64_t threads : {1, 2, 3, 5, 64}) {
      for (int64_t n = 1; n <= 40; ++n) {
        INFO("vec " << vec << ", threads " << threads << ", n " << n);
        const std::vector<int64_t> table = table_for(n);
        const int64_t count = int64_t(table.size() / 2);
        auto excluded = [&](int64_t i) {
          for (int64_t k = 0; k < count; ++k)
            if (table[2 * k] <= i && i < table[2 * k + 1]) return true;
          return false;
        };
        std::vector<int> visits(size_t(n), 0);
        bool cursor_ok = true;
        const int64_t groups = n / vec;
        for (int64_t t = 0; t < threads; ++t) {
          k::DecayCursor cursor(table.data(), count, k::grid_stride_first_index(t, n, vec));
          auto visit = [&](int64_t i) {
            ++visits[size_t(i)];
            cursor_ok = cursor_ok && cursor.decays(i) == !excluded(i);
          };
          for (int64_t gi = t; gi < groups; gi += threads)
            for (int64_t l = 0; l < vec; ++l) visit(gi * vec + l);
          if (vec > 1 && groups * vec + t < n) visit(groups * vec + t);
        }
        CHECK(cursor_ok);
        if (threads >= vec)  // the kernel's launch always has at least V threads
          CHECK(visits == std::vector<int>(size_t(n), 1));
      }
    }
  }
}

TEST_CASE("optimizer kernels reject bad arguments", "[kernels][optimizer]") {
  const Stream& s = Stream::cpu();
  Arenas<float> a = make_arenas<float>(10, DType::F32, Device::cpu(), s);
  Tensor short_g = Tensor::zeros(Shape{9}, DType::F32, Device::cpu(), s);
  Tensor i64 = Tensor::zeros(Shape{10}, DType::I64, Device::cpu(), s);
  k::StepScalars sgd;
  sgd.momentum = 0.9;
  k::PredictScalars affine;
  affine.form = k::PredictForm::Affine;
  affine.cg[0] = 1;
  CHECK_THROWS_WITH(k::optimizer_step(a.w, short_g, a.s1, a.s2, a.table, a.pred, sgd, affine, s),
                    Catch::Contains("optimizer_step") && Catch::Contains("f32[9]"));
  CHECK_THROWS_WITH(
      k::optimizer_step(a.w, a.g, TensorView(), a.s2, a.table, a.pred, sgd, affine, s),
      Catch::Contains("momentum") && Catch::Contains("required"));
  CHECK_THROWS_WITH(k::optimizer_step(a.w, a.g, a.s1, a.s2, a.table, a.w, sgd, affine, s),
                    Catch::Contains("master weights"));
  CHECK_THROWS_WITH(k::optimizer_step(a.w, a.g, a.s1, a.s2, i64, a.pred, sgd, affine, s),
                    Catch::Contains("no-decay table"));
  CHECK_THROWS_WITH(
      k::predict_weights(a.w, TensorView(), a.s1, a.s2, a.table, a.pred, sgd, affine, s),
      Catch::Contains("last step's gradient"));
  k::StepScalars adam;
  adam.rule = k::UpdateRule::AdamW;
  CHECK_THROWS_WITH(k::optimizer_step(a.w, a.g, a.s1, a.s2, a.table, a.pred, adam, affine, s),
                    Catch::Contains("does not belong"));
}

namespace {

// The bf16 rounding of every f32 weight, as the fused step's weights copy must hold it.
std::vector<uint16_t> rounded_bits(const std::vector<float>& w) {
  std::vector<uint16_t> out;
  for (float x : w) out.push_back(float_to_bf16(x).bits);
  return out;
}

std::vector<uint16_t> bits_of(const TensorView& v, const Stream& s) {
  std::vector<uint16_t> out;
  for (bf16 x : to_vector<bf16>(v, s)) out.push_back(x.bits);
  return out;
}

}  // namespace

TEST_CASE(
    "the fused step's bf16 weights copy is the updated weights rounded, changing nothing "
    "else",
    "[kernels][optimizer][bf16]") {
  const Stream& s = Stream::cpu();
  for (const Case& c : cases()) {
    for (int64_t n : {1, 7, 100003}) {
      INFO(c.name << ", n = " << n);
      Arenas<float> with = make_arenas<float>(n, DType::BF16, Device::cpu(), s);
      Arenas<float> without = make_arenas<float>(n, DType::BF16, Device::cpu(), s);
      Tensor copy = Tensor::zeros(Shape{n}, DType::BF16, Device::cpu(), s);
      k::optimizer_step(with.w, with.g, with.s1, with.s2, with.table, with.pred, c.step, c.predict,
                        s, copy);
      k::optimizer_step(without.w, without.g, without.s1, without.s2, without.table, without.pred,
                        c.step, c.predict, s);
      CHECK(bits_of(copy, s) == rounded_bits(to_vector<float>(with.w, s)));
      for (auto [a, b] : {std::pair{&with.w, &without.w}, std::pair{&with.s1, &without.s1},
                          std::pair{&with.s2, &without.s2}, std::pair{&with.g, &without.g},
                          std::pair{&with.pred, &without.pred}})
        CHECK(bytes_of<float>(*a, s) == bytes_of<float>(*b, s));
    }
  }
  // Steady-state momentum SGD without a prediction (the CPU's vectorised loop otherwise).
  k::StepScalars st;
  st.lr = 0.1;
  st.momentum = 0.9;
  Arenas<float> a = make_arenas<float>(1000, DType::BF16, Device::cpu(), s);
  Tensor copy = Tensor::zeros(Shape{1000}, DType::BF16, Device::cpu(), s);
  k::optimizer_step(a.w, a.g, a.s1, TensorView(), a.table, TensorView(), st, k::PredictScalars{}, s,
                    copy);
  CHECK(bits_of(copy, s) == rounded_bits(to_vector<float>(a.w, s)));
  // A copy that is not bf16 of the weights' size, or aliases them, is refused by name.
  Tensor f32 = Tensor::zeros(Shape{1000}, DType::F32, Device::cpu(), s);
  Tensor short16 = Tensor::zeros(Shape{999}, DType::BF16, Device::cpu(), s);
  for (const TensorView& bad : {f32.view(), short16.view()})
    CHECK_THROWS_WITH(k::optimizer_step(a.w, a.g, a.s1, TensorView(), a.table, TensorView(), st,
                                        k::PredictScalars{}, s, bad),
                      Catch::Contains("weights' copy"));
  CHECK_THROWS_WITH(k::optimizer_step(a.w, a.g, a.s1, TensorView(), a.table, copy, st,
                                      k::PredictScalars{}, s, copy),
                    Catch::Contains("must not alias"));
}

TEST_CASE("gpu: the fused step's bf16 weights copy is the device's updated weights rounded",
          "[gpu][kernels][optimizer][bf16]") {
  AUGUR_REQUIRE_GPU();
  Stream gs = Stream::create(Device::cuda(0));
  for (const Case& c : cases()) {
    for (int64_t n : {1, 7, 300007}) {
      for (int64_t offset : {0, 1}) {  // offset 1: the one-element path
        INFO(c.name << ", n = " << n << ", offset " << offset);
        Arenas<float> d = make_arenas<float>(n + offset, DType::BF16, Device::cuda(0), gs);
        Tensor copy = Tensor::zeros(Shape{n + offset}, DType::BF16, Device::cuda(0), gs);
        auto sub = [&](const Tensor& t) {
          const size_t bytes = dtype_size(t.dtype()) * offset;
          return TensorView(static_cast<char*>(t.view().raw()) + bytes, t.dtype(), t.device(),
                            Shape{n});
        };
        const auto tv = table_for(n);
        Tensor td;
        if (!tv.empty())
          td = make_tensor(tv, Shape{int64_t(tv.size() / 2), 2}, Device::cuda(0), gs);
        k::optimizer_step(sub(d.w), sub(d.g), sub(d.s1), sub(d.s2), td, sub(d.pred), c.step,
                          c.predict, gs, sub(copy));
        // CUDA's __floats2bfloat162_rn and the host's float_to_bf16 both round to nearest even.
        CHECK(bits_of(sub(copy), gs) == rounded_bits(to_vector<float>(sub(d.w), gs)));
      }
    }
  }
}

TEST_CASE("gpu: optimizer kernels match the CPU reference", "[gpu][kernels][optimizer]") {
  AUGUR_REQUIRE_GPU();
  const Stream& cs = Stream::cpu();
  Stream gs = Stream::create(Device::cuda(0));
  for (const Case& c : cases()) {
    for (DType pd : {DType::F32, DType::BF16}) {
      for (int64_t n : {1, 7, 1000, 300007}) {
        // offset 1: views that are not 16-byte aligned take the one-element path.
        for (int64_t offset : {0, 1}) {
          INFO(c.name << ", n = " << n << ", offset " << offset << ", predicted "
                      << dtype_name(pd));
          Arenas<float> h = make_arenas<float>(n + offset, pd, Device::cpu(), cs);
          Arenas<float> d = make_arenas<float>(n + offset, pd, Device::cuda(0), gs);
          auto sub = [&](const Tensor& t) {
            const size_t bytes = dtype_size(t.dtype()) * offset;
            return TensorView(static_cast<char*>(t.view().raw()) + bytes, t.dtype(), t.device(),
                              Shape{n});
          };
          const auto tv = table_for(n);
          Tensor th, td;
          if (!tv.empty()) {
            th = make_tensor(tv, Shape{int64_t(tv.size() / 2), 2}, Device::cpu(), cs);
            td = make_tensor(tv, Shape{int64_t(tv.size() / 2), 2}, Device::cuda(0), gs);
          }
          const auto g_saved = to_vector<float>(sub(h.g), cs);
          k::optimizer_step(sub(h.w), sub(h.g), sub(h.s1), sub(h.s2), th, sub(h.pred), c.step,
                            c.predict, cs);
          k::optimizer_step(sub(d.w), sub(d.g), sub(d.s1), sub(d.s2), td, sub(d.pred), c.step,
                            c.predict, gs);
          // Values of order 1, a handful of roundings each; bit equality is expected.
          const Tolerance tol = tolerance_for(DType::F32, 8, 4.0);
          AUGUR_CHECK_CLOSE(to_vector<float>(sub(d.w), gs), to_vector<float>(sub(h.w), cs), tol);
          AUGUR_CHECK_CLOSE(to_vector<float>(sub(d.s1), gs), to_vector<float>(sub(h.s1), cs), tol);
          AUGUR_CHECK_CLOSE(to_vector<float>(sub(d.s2), gs), to_vector<float>(sub(h.s2), cs), tol);
          CHECK(to_vector<float>(sub(d.g), gs) == std::vector<float>(size_t(n), 0.f));
          // bf16: one unit in the last place where the f32 values straddle a rounding boundary.
          const Tolerance ptol = pd == DType::BF16
                                     ? Tolerance{tol.abs, derived_tolerance(DType::BF16, 1, 0).rel}
                                     : tol;
          auto pred_values = [&](const TensorView& v, const Stream& st) {
            if (pd == DType::F32) return to_vector<float>(v, st);
            const auto b = to_vector<bf16>(v, st);
            std::vector<float> f(b.size());
            for (size_t i = 0; i < b.size(); ++i) f[i] = bf16_to_float(b[i]);
            return f;
          };
          AUGUR_CHECK_CLOSE(pred_values(sub(d.pred), gs), pred_values(sub(h.pred), cs), ptol);
          const auto fused_on_device = pred_values(sub(d.pred), gs);
          // Predict-only from the post-step state, with the step's gradient restored.
          Tensor gh = make_tensor(g_saved, Shape{n}, Device::cpu(), cs);
          Tensor gd = make_tensor(g_saved, Shape{n}, Device::cuda(0), gs);
          k::predict_weights(sub(h.w), gh, sub(h.s1), sub(h.s2), th, sub(h.pred), c.step, c.predict,
                             cs);
          k::predict_weights(sub(d.w), gd, sub(d.s1), sub(d.s2), td, sub(d.pred), c.step, c.predict,
                             gs);
          AUGUR_CHECK_CLOSE(pred_values(sub(d.pred), gs), pred_values(sub(h.pred), cs), ptol);
          CHECK(pred_values(sub(d.pred), gs) == fused_on_device);  // same math, same bits
        }
      }
    }
  }
}
