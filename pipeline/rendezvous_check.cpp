#include "pipeline/rendezvous_check.h"

#include <map>
#include <sstream>
#include <tuple>

#include "pipeline/schedule_text.h"
#include "runtime/error.h"

namespace augur {

namespace {

bool communicates(ActionKind k) {
  return k == ActionKind::SendAct || k == ActionKind::RecvAct || k == ActionKind::SendGrad ||
         k == ActionKind::RecvGrad;
}
bool is_send(ActionKind k) {
  return k == ActionKind::SendAct || k == ActionKind::SendGrad;
}
int peer_of(const Action& a) {
  return a.kind == ActionKind::SendAct || a.kind == ActionKind::RecvGrad ? a.stage + 1
                                                                         : a.stage - 1;
}

// One blocking unit of a rank's list: a compute action, a group of communication actions
// [begin, end), or the all-reduce before the Step at `begin`.
struct Unit {
  enum class Kind { Compute, Group, AllReduce } kind;
  size_t begin, end;
};

std::vector<Unit> units_of(const std::vector<Action>& list, const RendezvousOptions& o) {
  std::vector<Unit> units;
  for (size_t i = 0; i < list.size();) {
    if (!communicates(list[i].kind)) {
      if (list[i].kind == ActionKind::Step && o.replicas > 1)
        units.push_back({Unit::Kind::AllReduce, i, i});
      units.push_back({Unit::Kind::Compute, i, i + 1});
      ++i;
      continue;
    }
    size_t end = i + 1;
    if (o.grouped)
      while (end < list.size() && communicates(list[end].kind)) ++end;
    units.push_back({Unit::Kind::Group, i, end});
    i = end;
  }
  return units;
}

}  // namespace

RendezvousResult check_rendezvous(const Schedule& s, const RendezvousOptions& o) {
  AUGUR_ARG_CHECK(s.lowered, "the rendezvous check reads lowered schedules");
  AUGUR_ARG_CHECK(o.replicas >= 1, "replicas must be at least 1, got ", o.replicas);
  const int K = s.stages, R = o.replicas;
  std::vector<std::vector<Unit>> units(static_cast<size_t>(K));
  for (int r = 0; r < K; ++r) units[size_t(r)] = units_of(s.actions[size_t(r)], o);

  // Rank (r, d). Per ordered pair of ranks (same replica), the actions issued so far on
  // each side, in issue order: the k-th send pairs with the k-th receive.
  auto rank = [&](int r, int d) { return size_t(d * K + r); };
  const size_t ranks = size_t(K * R);
  std::vector<size_t> at(ranks, 0);        // unit index per rank
  std::vector<bool> issued(ranks, false);  // the current unit's operations are issued
  using Link = std::pair<size_t, size_t>;  // (sender rank, receiver rank)
  std::map<Link, std::vector<Action>> sent, received;
  // For each issued operation of a rank's current group: (link, index in that link's list).
  std::vector<std::vector<std::tuple<bool, Link, size_t>>> pending(ranks);
  // All-reduces issued per stage and replica.
  std::vector<int> reduces(ranks, 0);

  RendezvousResult result;
  auto fail_mismatch = [&](const Action& send, const Action& recv) {
    result.problem = "mismatched pair: " + send.str() + " meets " + recv.str() +
                     " (sends and receives of the two stages come in different orders)";
  };

  bool progress = true;
  while (progress && result.problem.empty()) {
    progress = false;
    for (int d = 0; d < R; ++d)
      for (int r = 0; r < K; ++r) {
        const size_t me = rank(r, d);
        const auto& list = s.actions[size_t(r)];
        const auto& us = units[size_t(r)];
        while (at[me] < us.size() && result.problem.empty()) {
          const Unit& u = us[at[me]];
          if (u.kind == Unit::Kind::Compute) {
            ++at[me];
            progress = true;
            continue;
          }
          if (u.kind == Unit::Kind::AllReduce) {
            if (!issued[me]) {
              issued[me] = true;
              ++reduces[me];
              progress = true;
            }
            // Complete once every replica of this stage has issued its same all-reduce.
            bool all = true;
            for (int e = 0; e < R; ++e) all &= reduces[rank(r, e)] >= reduces[me];
            if (!all) break;
            issued[me] = false;
            ++at[me];
            progress = true;
            continue;
          }
          if (!issued[me]) {
            for (size_t i = u.begin; i < u.end; ++i) {
              const Action& a = list[i];
              const size_t other = rank(peer_of(a), d);
              const Link link = is_send(a.kind) ? Link{me, other} : Link{other, me};
              auto& side = is_send(a.kind) ? sent[link] : received[link];
              side.push_back(a);
              pending[me].emplace_back(is_send(a.kind), link, side.size() - 1);
            }
            issued[me] = true;
            progress = true;
          }
          // The group completes when each of its operations has a partner.
          bool all = true;
          for (const auto& [send, link, k] : pending[me]) {
            const auto& other = send ? received[link] : sent[link];
            if (other.size() <= k) {
              all = false;
              continue;
            }
            const Action& a = send ? sent[link][k] : other[k];
            const Action& b = send ? other[k] : received[link][k];
            const bool same = a.micro_batch == b.micro_batch &&
                              (a.kind == ActionKind::SendAct) == (b.kind == ActionKind::RecvAct);
            if (!same) {
              fail_mismatch(a, b);
              break;
            }
          }
          if (!all || !result.problem.empty()) break;
          pending[me].clear();
          issued[me] = false;
          ++at[me];
          progress = true;
        }
      }
  }

  for (int d = 0; d < R; ++d) {
    bool finished = true;
    for (int r = 0; r < K; ++r) finished &= at[rank(r, d)] == units[size_t(r)].size();
    if (finished) continue;
    result.replica = d;
    std::vector<std::string> notes(static_cast<size_t>(K));
    for (int r = 0; r < K; ++r) {
      const size_t me = rank(r, d);
      const auto& us = units[size_t(r)];
      if (at[me] == us.size()) {
        result.positions.push_back(s.actions[size_t(r)].size());
        continue;
      }
      const Unit& u = us[at[me]];
      result.positions.push_back(u.begin);
      if (u.kind == Unit::Kind::AllReduce)
        notes[size_t(r)] = "in the all-reduce before this step";
      else if (u.end - u.begin > 1)
        notes[size_t(r)] = "a group of " + std::to_string(u.end - u.begin) + " operations";
    }
    if (result.problem.empty()) {
      std::ostringstream os;
      os << "deadlock under in-order blocking matching (replica " << d << " of " << R << ")";
      result.problem = os.str();
    }
    result.grid = format_grid(s, result.positions, notes);
    return result;
  }
  if (!result.problem.empty()) return result;
  result.completes = true;
  return result;
}

}  // namespace augur
