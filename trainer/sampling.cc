#include "trainer/sampling.h"

#include "engine/error.h"

namespace poet::trainer {
namespace {

// retrain.py's MAX_NUM_IMAGES_PER_CLASS + 1: the range of the image index it draws.
constexpr uint64_t kImageIndexRange = uint64_t{1} << 27;

}  // namespace

std::vector<Sample> sample_batch(const Dataset& dataset, Split split, int batch_size,
                                 Random& random) {
  std::vector<int> usable;
  for (size_t c = 0; c < dataset.classes.size(); ++c)
    if (!dataset.classes[c].images(split).empty()) usable.push_back(static_cast<int>(c));
  if (usable.empty())
    fail("--image_dir ", dataset.image_dir, ": no class has any image in the ", split_name(split),
         " set");
  std::vector<Sample> batch;
  if (batch_size < 0) {
    for (int c : usable)
      for (size_t i = 0; i < dataset.classes[c].images(split).size(); ++i) batch.push_back({c, i});
    return batch;
  }
  batch.reserve(batch_size);
  for (int n = 0; n < batch_size; ++n) {
    int c = usable[random.below(usable.size())];
    uint64_t index = random.below(kImageIndexRange);
    batch.push_back({c, static_cast<size_t>(index % dataset.classes[c].images(split).size())});
  }
  return batch;
}

}  // namespace poet::trainer
