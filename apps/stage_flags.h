// The command line's ways of splitting a model into stages by hand: `--balance` (units per
// stage) and `--split-at` (the first unit of each later stage). They name their flags in
// their messages, so they live here rather than in pipeline/ (the partitioner's own input is
// the list of units per stage these return).
#pragma once

#include <string>
#include <vector>

namespace augur {

// `--balance 3,4,4,2`: units per stage. Throws on text that is not a list of positive
// integers, a count other than `stages` (when stages > 0; otherwise the list sets it), or a
// sum other than `units`.
std::vector<int> parse_balance(const std::string& text, int units, int stages);
// `--split-at layer2.0,layer3.0`: the first unit of every stage after the first. Throws on
// an unknown name, names not in model order (or repeated), a name that leaves the first stage
// empty, or a count other than stages - 1 (when stages > 0).
std::vector<int> parse_split_at(const std::string& text, const std::vector<std::string>& unit_names,
                                int stages);

}  // namespace augur
