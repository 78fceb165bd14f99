// --balance and --split-at: what they accept and how they refuse, naming the flag.
#include <catch2/catch.hpp>

#include "apps/stage_flags.h"
#include "models/resnet_spec.h"

using namespace augur;
using Catch::Matchers::Contains;

TEST_CASE("parsing --balance lists", "[apps]") {
  CHECK(parse_balance("3,4,4,2", 13, 4) == std::vector<int>{3, 4, 4, 2});
  CHECK(parse_balance(" 3, 10 ", 13, 0) == std::vector<int>{3, 10});
  CHECK_THROWS_WITH(parse_balance("3,4", 13, 4), Contains("lists 2 stages but --pp-stages is 4"));
  CHECK_THROWS_WITH(parse_balance("3,4,4,1", 13, 4),
                    Contains("covers 12 units but the model has 13"));
  CHECK_THROWS_WITH(parse_balance("3,0,10", 13, 3),
                    Contains("stage 1 has 0 units; every stage needs at least one"));
  CHECK_THROWS_WITH(parse_balance("3,-1,11", 13, 3), Contains("stage 1 has -1 units"));
  CHECK_THROWS_WITH(parse_balance("3,x,10", 13, 3), Contains("'x' is not a whole number"));
  CHECK_THROWS_WITH(parse_balance("3,4.5", 13, 2), Contains("'4.5' is not a whole number"));
  CHECK_THROWS_WITH(parse_balance("3,,10", 13, 3), Contains("'' is not a whole number"));
  CHECK_THROWS_WITH(parse_balance("13,", 13, 0), Contains("'' is not a whole number"));
  CHECK_THROWS_WITH(parse_balance("", 13, 0), Contains("--balance is empty"));
}

TEST_CASE("parsing --split-at names", "[apps]") {
  std::vector<std::string> names;
  for (const UnitSpec& u : resnet_spec("resnet50").units) names.push_back(u.name);
  REQUIRE(names.size() == 18);
  // stem + layer1 (4 units) | layer2 (4) | layer3 (6) + layer4 (3) + head.
  CHECK(parse_split_at("layer2.0,layer3.0", names, 3) == std::vector<int>{4, 4, 10});
  CHECK(parse_split_at("head", names, 0) == std::vector<int>{17, 1});
  CHECK_THROWS_WITH(parse_split_at("layer2.0,layer9.0", names, 3),
                    Contains("unknown unit 'layer9.0'") && Contains("layer4.2 head"));
  CHECK_THROWS_WITH(parse_split_at("layer3.0,layer2.0", names, 3),
                    Contains("'layer2.0' does not come after 'layer3.0'"));
  CHECK_THROWS_WITH(parse_split_at("layer2.0,layer2.0", names, 3),
                    Contains("'layer2.0' does not come after 'layer2.0'"));
  CHECK_THROWS_WITH(parse_split_at("stem,layer2.0", names, 3), Contains("leaves stage 0 empty"));
  CHECK_THROWS_WITH(parse_split_at("layer2.0,layer3.0", names, 4),
                    Contains("makes 3 stages but --pp-stages is 4"));
  CHECK_THROWS_WITH(parse_split_at("", names, 0), Contains("--split-at is empty"));
}
