// Class labels (i64 [N]) must lie in [0, classes). Shared by the losses and metrics that
// index rows of logits by label.
#pragma once

#include <cstdint>

#include "runtime/stream.h"
#include "runtime/tensor.h"

namespace augur::kernels::detail {

// "op: label V of sample I is out of range [0, C)".
[[noreturn]] void throw_bad_label(const char* op, int64_t sample, int64_t label, int64_t classes);

// Checks the labels of a view on the CPU.
void check_labels_on_host(const char* op, const TensorView& labels, int64_t classes);

// The mark a kernel leaves in device memory: the first sample whose label is out of range
// (-1 when none) and that label.
struct LabelStatus {
  int64_t first_bad_sample;
  int64_t label;
};

// Copies the mark back (synchronising `stream`) and throws when it names a bad label.
void check_label_status(const char* op, const LabelStatus* status_on_device, int64_t classes,
                        const Stream& stream);

}  // namespace augur::kernels::detail
