#include "tests/layers/layer_check.h"

#include "runtime/stream.h"
#include "tests/support/random.h"

namespace augur::test {

LayerCheckResult check_layer_gradients(Layer& layer, const Shape& input_shape,
                                       const LayerCheckOptions& options) {
  ArenaLayout params, state;
  layer.declare(params, state);
  const Shape out_shape = layer.output_shape(input_shape);

  std::vector<double> w = random_doubles(static_cast<size_t>(params.size()), options.seed);
  if (options.init_params) options.init_params(params, w);
  std::vector<double> st(static_cast<size_t>(state.size()), 0.0);
  std::vector<double> x =
      random_doubles(static_cast<size_t>(input_shape.numel()), options.seed + 1);
  if (options.init_input) options.init_input(x);
  const std::vector<double> r =
      random_doubles(static_cast<size_t>(out_shape.numel()), options.seed + 2);

  const Device cpu = Device::cpu();
  auto view = [&](std::vector<double>& v, Shape s) {
    return TensorView(v.data(), DType::F64, cpu, s);
  };
  Pass pass;
  const Stream cpu_stream = Stream::cpu();
  pass.stream = &cpu_stream;
  pass.state = view(st, Shape{state.size()});
  pass.training = true;
  pass.bn_stats = options.bn_stats;

  // f(x, w) = sum(layer(x; w) * r)
  auto eval = [&](std::vector<double>& xs, std::vector<double>& ws) {
    pass.weights = view(ws, Shape{params.size()});
    Saved saved;
    const TensorView y = layer.forward(pass, saved, view(xs, input_shape));
    const double* py = y.data<double>();
    double f = 0;
    for (int64_t i = 0; i < y.numel(); ++i) f += py[i] * r[i];
    return f;
  };

  // Analytic gradients.
  std::vector<double> g(static_cast<size_t>(params.size()), 0.0);
  std::vector<double> ry = r;
  pass.weights = view(w, Shape{params.size()});
  pass.grads = view(g, Shape{params.size()});
  Saved saved;
  (void)layer.forward(pass, saved, view(x, input_shape));
  Tensor dx = layer.backward(pass, saved, view(ry, out_shape), true);
  const double* pdx = dx.data<double>();
  const std::vector<double> dx_analytic(pdx, pdx + dx.numel());

  GradCheckOptions gopt;
  gopt.max_coordinates = options.max_coordinates;
  gopt.seed = options.seed;
  LayerCheckResult result;
  result.input = check_gradient(
      [&](const std::vector<double>& xs) {
        std::vector<double> xc = xs;
        return eval(xc, w);
      },
      x, dx_analytic, gopt);
  if (params.size() > 0) {
    // Padding between entries has no gradient; the checker sees zeros there on both sides.
    result.params = check_gradient(
        [&](const std::vector<double>& ws) {
          std::vector<double> wc = ws;
          return eval(x, wc);
        },
        w, g, gopt);
  } else {
    result.params.ok = true;
  }
  return result;
}

}  // namespace augur::test
