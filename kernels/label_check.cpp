#include "kernels/label_check.h"

namespace augur::kernels::detail {

void throw_bad_label(const char* op, int64_t sample, int64_t label, int64_t classes) {
  AUGUR_THROW(op, ": label ", label, " of sample ", sample, " is out of range [0, ", classes, ")");
}

void check_labels_on_host(const char* op, const TensorView& labels, int64_t classes) {
  const int64_t* y = labels.data<int64_t>();
  for (int64_t i = 0; i < labels.numel(); ++i)
    if (y[i] < 0 || y[i] >= classes) throw_bad_label(op, i, y[i], classes);
}

void check_label_status(const char* op, const LabelStatus* status_on_device, int64_t classes,
                        const Stream& stream) {
  LabelStatus host{};
  copy_bytes(&host, Device::cpu(), status_on_device, stream.device(), sizeof(host), stream);
  stream.synchronize();
  if (host.first_bad_sample >= 0) throw_bad_label(op, host.first_bad_sample, host.label, classes);
}

}  // namespace augur::kernels::detail
