// Precision and algorithm-search switches of the GPU convolution and GEMM kernels.
//
// TF32 is off by default: f32 convolutions (cuDNN) and GEMMs (cuBLAS) then use FMA kernels
// only, so GPU results agree with the CPU reference within the f32 rounding bounds the tests
// derive. Allowing TF32 lets Ampere and later tensor cores multiply with 10-bit mantissas
// (products accurate to about 1e-3 relative), several times faster; whoever turns it on
// (a trainer flag) accepts that. The setting applies to calls made after it changes.
#pragma once

namespace augur::kernels {

void set_gpu_allow_tf32(bool allow);
bool gpu_allow_tf32();

// How cuDNN picks a convolution algorithm for a shape it has not seen. Heuristic (default):
// cuDNN's heuristics (no device work, no extra memory). Benchmark: time the candidates on the
// device once (cudnnFind*Ex), which can pick faster algorithms but synchronises the device
// and needs workspace. Either way the choice is cached per shape and parameters.
enum class ConvAlgoSearch { Heuristic, Benchmark };
void set_conv_algo_search(ConvAlgoSearch search);
ConvAlgoSearch conv_algo_search();

// Whether cuDNN convolutions must be deterministic (default: yes, so reruns and resumed runs
// give identical gradients and the pipeline-versus-sequential checks hold bit for bit). Some
// of the fastest f32 backward-filter algorithms accumulate with atomics; allowing them trades
// run-to-run reproducibility for speed.
void set_conv_deterministic(bool deterministic);
bool conv_deterministic();

}  // namespace augur::kernels
