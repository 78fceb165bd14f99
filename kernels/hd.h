// Marks per-element math shared by the CUDA kernels and their CPU references, so both
// compute the very same expression.
#pragma once

#if defined(__CUDACC__)
#define AUGUR_HD __host__ __device__ __forceinline__
#else
#define AUGUR_HD inline
#endif
