// Parallel branches: where a run's steps fork into chains of layers that meet again at one
// step (an Inception block: four towers read the block's input, and a concatenation joins
// them), the chains can run side by side, each on one thread with single-threaded kernels,
// instead of one after another with each layer split over the threads. At batch 1 on two
// threads a split layer hands work over twice and reads, from the other core, the half of its
// input that the other thread wrote; a branch reads from the other core only the block's input.
// (ExecOptions::parallel_branches says when the executor runs them so.)
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace poet {

// Steps [first, join) of a run, each read by no step after `join`, in `branches` (each in
// step order) that read nothing another computes. Every step of a branch reads only steps of
// its branch or steps before `first`.
struct BranchRegion {
  size_t first = 0, join = 0;
  std::vector<std::vector<size_t>> branches;
};

// The regions of a run whose step s reads the outputs of steps inputs[s] (feeds and constants
// are not steps) and whose steps with fetched[s] set are fetched, in step order. A region is as
// long as it can be: its first step reads the fork (the step before it, or earlier), whose
// outputs two of its branches read. A fork-join inside a branch (Inception v3's mixed_9/tower
// splits again into a 1x3 and a 3x1 layer) stays inside it.
std::vector<BranchRegion> find_branch_regions(std::span<const std::vector<size_t>> inputs,
                                              std::span<const char> fetched);

}  // namespace poet
