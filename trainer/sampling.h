// Which images make up a batch, as retrain.py's get_random_cached_bottlenecks picks them:
// with a non-negative batch size, each entry independently (so with replacement) takes a
// random class, then a random index below 2^27 taken modulo that class's image count in the
// set; with a negative size, every image of the set, class by class, in list order.
// retrain.py stops with a fatal error when the drawn class has no image in the set; poet
// draws only among the classes that have some (the same draw when all do).
#pragma once

#include <cstddef>
#include <vector>

#include "trainer/dataset.h"
#include "trainer/random.h"

namespace poet::trainer {

struct Sample {
  int class_index = 0;
  size_t image_index = 0;  // into dataset.classes[class_index].images(split)
  friend bool operator==(const Sample&, const Sample&) = default;
};

// An Error naming the set when no class has an image in it.
std::vector<Sample> sample_batch(const Dataset& dataset, Split split, int batch_size,
                                 Random& random);

}  // namespace poet::trainer
