#include "engine/branches.h"

#include <algorithm>
#include <optional>

namespace poet {
namespace {

constexpr size_t kNone = static_cast<size_t>(-1);

// The region ending at step `join`, if it has two branches or more. Walking back from the
// join, a step is taken while every step reading it lies between it and the join, and joins
// the branch of the steps reading it; the walk stops at a step read after the join (or
// fetched), and at the fork: a step read by two branches.
std::optional<BranchRegion> region_joined_at(size_t join,
                                             std::span<const std::vector<size_t>> readers,
                                             std::span<const char> fetched) {
  std::vector<size_t> branch_of(join, kNone);  // the branch's last step, per step taken
  size_t first = join;
  for (; first > 0; --first) {
    const size_t s = first - 1;
    if (fetched[s]) break;
    size_t branch = kNone;
    bool taken = true;
    for (size_t r : readers[s]) {
      if (r > join) taken = false;
      if (r >= join) continue;
      if (branch != kNone && branch_of[r] != branch) taken = false;
      branch = branch_of[r];
    }
    if (!taken) break;
    branch_of[s] = branch == kNone ? s : branch;
  }
  std::vector<size_t> ends;  // each branch's id, by its last step, in step order
  for (size_t s = first; s < join; ++s)
    if (branch_of[s] == s) ends.push_back(s);
  if (ends.size() < 2) return std::nullopt;
  BranchRegion region{first, join, std::vector<std::vector<size_t>>(ends.size())};
  for (size_t s = first; s < join; ++s) {
    const size_t b = std::ranges::lower_bound(ends, branch_of[s]) - ends.begin();
    region.branches[b].push_back(s);
  }
  return region;
}

}  // namespace

std::vector<BranchRegion> find_branch_regions(std::span<const std::vector<size_t>> inputs,
                                              std::span<const char> fetched) {
  const size_t n = inputs.size();
  std::vector<std::vector<size_t>> readers(n);
  for (size_t s = 0; s < n; ++s)
    for (size_t p : inputs[s]) readers[p].push_back(s);
  std::vector<BranchRegion> regions;
  // From the last step back, so that a region inside another's branch is found as part of it.
  for (size_t join = n; join-- > 0;) {
    std::vector<size_t> producers = inputs[join];
    std::sort(producers.begin(), producers.end());
    if (std::unique(producers.begin(), producers.end()) - producers.begin() < 2) continue;
    if (std::optional<BranchRegion> r = region_joined_at(join, readers, fetched)) {
      join = r->first;  // the next join to try is the fork or before it
      regions.push_back(std::move(*r));
    }
  }
  std::ranges::reverse(regions);
  return regions;
}

}  // namespace poet
