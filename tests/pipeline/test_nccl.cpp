// The NCCL transport and bootstrap. What runs here: NCCL's version and the ids a launch
// derives (ncclGetUniqueId needs no GPU). What one GPU can check ([gpu]): one-rank
// communicators, made from a fresh id and the torchrun-style NCCL_COMM_ID way, split; a
// grouped exchange with itself (NCCL sends to self within a group) that keeps each pair's
// order; the data-parallel reduce-and-broadcast; a receive nobody answers, ended at the
// deadline; the gather between runs. Two ranks need two GPUs (NCCL 2.28 refuses two ranks on
// one GPU): docs/gpu-validation.md lists those runs as not yet made.
#include <catch2/catch.hpp>

#if AUGUR_WITH_NCCL

#include <unistd.h>

#include <cstring>
#include <regex>

#include "pipeline/nccl/nccl_comm.h"
#include "pipeline/nccl/nccl_transport.h"
#include "runtime/host_data.h"
#include "tests/support/gpu.h"

using namespace augur;
using Catch::Matchers::Contains;

namespace {

using Clock = std::chrono::steady_clock;
Clock::time_point in_seconds(int s) {
  return Clock::now() + std::chrono::seconds(s);
}

Tensor on_gpu(const std::vector<float>& v, const Stream& s) {
  return copy_of(
      TensorView(const_cast<float*>(v.data()), DType::F32, Device::cpu(), Shape{int64_t(v.size())}),
      Device::cuda(0), s);
}

std::vector<float> on_host(const TensorView& t, const Stream& s) {
  const Tensor h = copy_of(t, Device::cpu(), s);
  s.synchronize();
  return std::vector<float>(h.view().data<float>(), h.view().data<float>() + t.numel());
}

CommOp receive_op(int peer, MessageKind kind, int mb, Shape shape) {
  CommOp op = CommOp::receiving(peer, kind, mb);
  op.expect_shape = shape;
  return op;
}

// Sends two tensors to itself and receives them in one group: each arrives whole, in order.
void check_self_exchange(NcclTransport& t) {
  const Stream s = Stream::create(Device::cuda(0));
  const std::vector<float> a = {1, 2, 3, 4, 5, 6}, b = {-1, -2, -3};
  const Tensor ta = on_gpu(a, s), tb = on_gpu(b, s);
  std::vector<CommOp> ops;
  ops.push_back(CommOp::sending(0, MessageKind::Activation, 0, ta.view()));
  ops.push_back(CommOp::sending(0, MessageKind::Activation, 1, tb.view()));
  ops.push_back(receive_op(0, MessageKind::Activation, 0, Shape{2, 3}));
  ops.push_back(receive_op(0, MessageKind::Activation, 1, Shape{3}));
  t.begin_run();
  t.exchange(0, ops, s, in_seconds(60));
  CHECK(ops[2].received.view.shape() == Shape{2, 3});
  CHECK(on_host(ops[2].received.view, s) == a);
  CHECK(on_host(ops[3].received.view, s) == b);
}

}  // namespace

TEST_CASE("NCCL's version, and the ids a launch derives", "[pipeline][nccl]") {
  CHECK(std::regex_match(nccl_version(), std::regex("[0-9]+\\.[0-9]+\\.[0-9]+")));
  // From NCCL_COMM_ID every rank computes the same id, with nothing exchanged.
  const ncclUniqueId a = nccl_id_from_comm_id("127.0.0.1:29871");
  const ncclUniqueId b = nccl_id_from_comm_id("127.0.0.1:29871");
  const ncclUniqueId c = nccl_id_from_comm_id("127.0.0.1:29872");
  CHECK(std::memcmp(&a, &b, sizeof a) == 0);
  CHECK(std::memcmp(&a, &c, sizeof a) != 0);
  unsetenv("NCCL_COMM_ID");
  CHECK_THROWS_WITH(nccl_id_from_comm_id("no-port"), Contains("host:port"));
}

TEST_CASE("gpu: NCCL one-rank communicator: a grouped exchange with itself, in order",
          "[gpu][pipeline][nccl]") {
  AUGUR_REQUIRE_GPU();
  unsetenv("NCCL_COMM_ID");
  auto comm = NcclComm::create(nccl_new_id(), 1, 0, Device::cuda(0), in_seconds(120));
  REQUIRE(comm->size() == 1);
  NcclTransport t(comm);
  check_self_exchange(t);
  // A receive whose shape is not known ahead is refused before anything is issued.
  const Stream s = Stream::create(Device::cuda(0));
  std::vector<CommOp> ops(1);
  ops[0].op = CommOp::Kind::Receive;
  CHECK_THROWS_WITH(t.exchange(0, ops, s, in_seconds(5)), Contains("micro_batch_input"));
}

TEST_CASE("gpu: NCCL one-rank data-parallel average leaves the gradients as they are",
          "[gpu][pipeline][nccl]") {
  AUGUR_REQUIRE_GPU();
  unsetenv("NCCL_COMM_ID");
  auto world = NcclComm::create(nccl_new_id(), 1, 0, Device::cuda(0), in_seconds(120));
  auto replicas = world->split(0, 0, in_seconds(120));
  REQUIRE(replicas->size() == 1);
  NcclTransport t(world, replicas);
  const Stream s = Stream::create(Device::cuda(0));
  std::vector<float> g(4099);
  for (size_t i = 0; i < g.size(); ++i) g[i] = 0.25f * float(i) - 7.f;
  const Tensor tg = on_gpu(g, s);
  t.begin_run();
  t.average_gradients(0, tg.view(), s, in_seconds(60));
  CHECK(on_host(tg.view(), s) == g);  // the mean of one replica, exact
}

TEST_CASE("gpu: NCCL torchrun-style bootstrap through NCCL_COMM_ID, split, gather",
          "[gpu][pipeline][nccl]") {
  AUGUR_REQUIRE_GPU();
  const std::string at = "127.0.0.1:" + std::to_string(29400 + getpid() % 500);
  auto world = NcclComm::create(nccl_id_from_comm_id(at), 1, 0, Device::cuda(0), in_seconds(120));
  unsetenv("NCCL_COMM_ID");
  auto pipeline = world->split(0, 0, in_seconds(120));
  NcclTransport t(pipeline);
  check_self_exchange(t);
  const std::vector<std::string> got = nccl_gather(*world, "rank zero's bytes", 0, in_seconds(60));
  CHECK(got == std::vector<std::string>{"rank zero's bytes"});
}

TEST_CASE("gpu: NCCL receive that nobody answers ends at the deadline, communicator aborted",
          "[gpu][pipeline][nccl]") {
  AUGUR_REQUIRE_GPU();
  unsetenv("NCCL_COMM_ID");
  auto comm = NcclComm::create(nccl_new_id(), 1, 0, Device::cuda(0), in_seconds(120));
  NcclTransport t(comm);
  const Stream s = Stream::create(Device::cuda(0));
  std::vector<CommOp> ops;
  ops.push_back(receive_op(0, MessageKind::Gradient, 0, Shape{16}));
  t.begin_run();
  const auto started = Clock::now();
  CHECK_THROWS(t.exchange(0, ops, s, in_seconds(3)));
  CHECK(Clock::now() - started < std::chrono::seconds(30));
  CHECK(comm->aborted());
  CHECK_THROWS_WITH(t.begin_run(), Contains("restart the job"));
}

#endif  // AUGUR_WITH_NCCL
