// The list-valued flags: --balance, --split-at (against resnet20's units), --devices and
// --lr-milestones. The first byte picks the flag and a stage count.
#include <cstdint>
#include <string>

#include "apps/commands.h"
#include "apps/stage_flags.h"
#include "apps/training_plan.h"
#include "models/resnet_spec.h"
#include "runtime/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const auto& u : augur::resnet_spec("resnet20", {10, 3, 32}).units) n.push_back(u.name);
    return n;
  }();
  if (size < 1) return 0;
  const int stages = (data[0] >> 2) % 12;  // 0: the list decides
  const std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  try {
    switch (data[0] & 3) {
      case 0: {
        const auto b = augur::parse_balance(text, static_cast<int>(names.size()), stages);
        int sum = 0;
        for (int k : b) sum += k;
        if (sum != static_cast<int>(names.size())) __builtin_trap();
        break;
      }
      case 1: augur::parse_split_at(text, names, stages); break;
      case 2: augur::devices_per_stage(text, stages == 0 ? 1 : stages); break;
      default: {
        augur::TrainOptions o;
        o.lr_scheduler = "multistep";
        o.lr_milestones = text;
        o.epochs = 90;
        augur::lr_schedule(o, 391);
      }
    }
  } catch (const augur::Error&) {
  }
  return 0;
}
