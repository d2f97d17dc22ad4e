// The new final layer (forward, loss, gradients, descent), the portable random source and
// retrain.py's batch sampling.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <map>

#include "engine/error.h"
#include "tests/expect_error.h"
#include "tests/softmax_layer_plain.h"
#include "trainer/random.h"
#include "trainer/sampling.h"
#include "trainer/softmax_layer.h"

namespace poet::trainer {
namespace {

using ::poet::testing::error_of;

TEST(TrainerRandom, SameSeedSameNumbers) {
  Random a(42), b(42), c(43);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.bits(), b.bits());
  EXPECT_NE(Random(42).bits(), c.bits());
  // std::mt19937_64 is specified exactly: its 10000th output for the default seed.
  Random d(5489);
  for (int i = 1; i < 10000; ++i) d.bits();
  EXPECT_EQ(d.bits(), 9981545732273789042ull);
}

TEST(TrainerRandom, BelowIsInRangeAndCoversIt) {
  Random r(1);
  std::map<uint64_t, int> counts;
  for (int i = 0; i < 7000; ++i) ++counts[r.below(7)];
  ASSERT_EQ(counts.size(), 7u);
  for (auto [value, n] : counts) {
    EXPECT_LT(value, 7u);
    EXPECT_NEAR(n, 1000, 150);
  }
  EXPECT_EQ(r.below(1), 0u);
}

TEST(TrainerRandom, TruncatedNormalStaysWithinTwoAndHasUnitishSpread) {
  Random r(7);
  double sum = 0, sum_sq = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    double z = r.truncated_normal();
    ASSERT_LE(std::abs(z), 2.0);
    sum += z;
    sum_sq += z * z;
  }
  EXPECT_NEAR(sum / n, 0.0, 0.03);
  // A standard normal truncated to [-2, 2] has variance 0.774.
  EXPECT_NEAR(sum_sq / n, 0.774, 0.03);
}

TEST(TrainerSoftmax, InitialWeightsAreSmallAndSeeded) {
  SoftmaxLayer a(50, 3, 9), b(50, 3, 9), c(50, 3, 10);
  ASSERT_EQ(a.weights().size(), 150u);
  bool differs = false;
  for (size_t i = 0; i < 150; ++i) {
    EXPECT_EQ(a.weights()[i], b.weights()[i]);
    EXPECT_LE(std::abs(a.weights()[i]), 0.002f);
    differs |= a.weights()[i] != c.weights()[i];
  }
  EXPECT_TRUE(differs);
  for (float bias : a.biases()) EXPECT_EQ(bias, 0.0f);
  EXPECT_EQ(a.weights_tensor().shape(), (Shape{50, 3}));
  EXPECT_EQ(a.biases_tensor().shape(), (Shape{3}));
}

TEST(TrainerSoftmax, ForwardByHand) {
  // x = [1, 2], W = [[1, 0, 0], [0, 1, 0]], b = [0, 0, ln 2]: logits [1, 2, ln 2].
  SoftmaxLayer layer(2, 3, {1, 0, 0, 0, 1, 0}, {0, 0, static_cast<float>(std::log(2.0))});
  std::vector<float> x = {1, 2};
  std::vector<double> p = layer.probabilities(x);
  double z = std::exp(1.0) + std::exp(2.0) + 2.0;
  EXPECT_NEAR(p[0], std::exp(1.0) / z, 1e-7);
  EXPECT_NEAR(p[1], std::exp(2.0) / z, 1e-7);
  EXPECT_NEAR(p[2], 2.0 / z, 1e-7);
  std::vector<int> label = {2};
  Evaluation e = layer.evaluate(x, label);
  EXPECT_NEAR(e.cross_entropy, -std::log(2.0 / z), 1e-7);
  EXPECT_EQ(e.predictions, (std::vector<int>{1}));
  EXPECT_EQ(e.accuracy, 0.0);
  std::vector<int> right = {1};
  EXPECT_EQ(layer.evaluate(x, right).accuracy, 1.0);
}

TEST(TrainerSoftmax, HugeLogitsStayFinite) {
  SoftmaxLayer layer(1, 2, {1000, -1000}, {0, 0});
  std::vector<float> x = {1};
  std::vector<int> label = {1};
  Evaluation e = layer.evaluate(x, label);
  EXPECT_NEAR(e.cross_entropy, 2000.0, 1e-9);
  Gradients g = layer.gradients(x, label);
  EXPECT_NEAR(g.loss, 2000.0, 1e-9);
  EXPECT_NEAR(g.weights[0], 1.0, 1e-12);
  EXPECT_NEAR(g.weights[1], -1.0, 1e-12);
}

TEST(TrainerSoftmax, GradientsMatchFiniteDifferences) {
  const int in = 5, classes = 4, batch = 3;
  SoftmaxLayer layer(in, classes, 123);
  Random r(5);
  std::vector<float> weights(layer.weights().begin(), layer.weights().end());
  for (float& w : weights) w = static_cast<float>(r.normal() * 0.5);
  std::vector<float> biases = {0.1f, -0.2f, 0.3f, 0.0f};
  std::vector<float> x(batch * in);
  for (float& v : x) v = static_cast<float>(r.normal());
  std::vector<int> labels = {0, 3, 1};
  SoftmaxLayer base(in, classes, weights, biases);
  Gradients g = base.gradients(x, labels);
  EXPECT_NEAR(g.loss, base.evaluate(x, labels).cross_entropy, 1e-12);
  // Central differences with steps exactly representable in float around each value.
  const float h = 1.0f / 256;
  for (int i = 0; i < in * classes; ++i) {
    auto plus = weights, minus = weights;
    plus[i] += h;
    minus[i] -= h;
    double numeric = (SoftmaxLayer(in, classes, plus, biases).evaluate(x, labels).cross_entropy -
                      SoftmaxLayer(in, classes, minus, biases).evaluate(x, labels).cross_entropy) /
                     (static_cast<double>(plus[i]) - minus[i]);
    EXPECT_NEAR(g.weights[i], numeric, 2e-5) << "weight " << i;
  }
  for (int c = 0; c < classes; ++c) {
    auto plus = biases, minus = biases;
    plus[c] += h;
    minus[c] -= h;
    double numeric = (SoftmaxLayer(in, classes, weights, plus).evaluate(x, labels).cross_entropy -
                      SoftmaxLayer(in, classes, weights, minus).evaluate(x, labels).cross_entropy) /
                     (static_cast<double>(plus[c]) - minus[c]);
    EXPECT_NEAR(g.biases[c], numeric, 2e-5) << "bias " << c;
  }
}

// The layer's blocked loops (classes eight at a time, padded) against the plain loops they
// replace (tests/softmax_layer_plain.h): the sums are the same double operations in the same
// order, so the results are equal to the last bit, whatever the classes' remainder.
TEST(TrainerSoftmax, BlockedSumsEqualThePlainLoops) {
  for (auto [in, classes, batch] : {std::array{7, 2, 1},
                                    {13, 3, 5},
                                    {33, 9, 13},
                                    {1001, 22, 100},
                                    {64, 17, 4},
                                    {5, 8, 8},
                                    {3, 23, 21}}) {
    SCOPED_TRACE(::testing::Message()
                 << in << " inputs, " << classes << " classes, batch " << batch);
    Random r(static_cast<uint64_t>(in * 100 + classes));
    std::vector<float> weights(static_cast<size_t>(in) * classes), biases(classes);
    for (float& w : weights) w = static_cast<float>(r.normal() * 0.3);
    for (float& b : biases) b = static_cast<float>(r.normal() * 0.1);
    std::vector<float> x(static_cast<size_t>(batch) * in);
    for (float& v : x) v = static_cast<float>(r.normal());
    std::vector<int> labels(batch);
    for (int& l : labels) l = static_cast<int>(r.below(classes));
    SoftmaxLayer layer(in, classes, weights, biases);
    EXPECT_EQ(layer.logits(x), testing::plain_logits(x, weights, biases));
    Gradients g = layer.gradients(x, labels);
    testing::PlainGradients want = testing::plain_gradients(x, labels, weights, biases);
    EXPECT_EQ(g.weights, want.weights);
    EXPECT_EQ(g.biases, want.biases);
  }
}

TEST(TrainerSoftmax, StepMovesAgainstTheGradient) {
  SoftmaxLayer layer(2, 2, {0.5f, -0.5f, 0.25f, 0.0f}, {0.0f, 0.1f});
  std::vector<float> x = {1, 2};
  std::vector<int> label = {1};
  Gradients g = layer.gradients(x, label);
  const Evaluation e = layer.evaluate(x, label);
  EXPECT_EQ(g.accuracy, e.accuracy);
  EXPECT_EQ(e.logits, layer.logits(x));
  EXPECT_EQ(e.probabilities, layer.probabilities(x));
  EXPECT_EQ(g.logits, layer.logits(x));
  EXPECT_EQ(g.probabilities, layer.probabilities(x));
  SoftmaxLayer stepped = layer;
  stepped.apply(g, 0.5);
  for (int i = 0; i < 4; ++i)
    EXPECT_FLOAT_EQ(stepped.weights()[i],
                    static_cast<float>(layer.weights()[i] - 0.5 * g.weights[i]));
  for (int c = 0; c < 2; ++c)
    EXPECT_FLOAT_EQ(stepped.biases()[c], static_cast<float>(layer.biases()[c] - 0.5 * g.biases[c]));
  EXPECT_LT(stepped.evaluate(x, label).cross_entropy, g.loss);
}

TEST(TrainerSoftmax, LearnsASeparableProblem) {
  // Three classes, each a noisy one-hot direction in 6 dimensions.
  const int in = 6, classes = 3, n = 60;
  Random r(11);
  std::vector<float> x(n * in);
  std::vector<int> labels(n);
  for (int i = 0; i < n; ++i) {
    labels[i] = i % classes;
    for (int k = 0; k < in; ++k) x[i * in + k] = static_cast<float>(0.3 * r.normal());
    x[i * in + labels[i]] += 2.0f;
  }
  SoftmaxLayer layer(in, classes, 1);
  double first = layer.evaluate(x, labels).cross_entropy;
  EXPECT_NEAR(first, std::log(3.0), 0.01);  // near-zero weights: uniform probabilities
  for (int step = 0; step < 300; ++step) layer.apply(layer.gradients(x, labels), 0.5);
  Evaluation e = layer.evaluate(x, labels);
  EXPECT_EQ(e.accuracy, 1.0);
  EXPECT_LT(e.cross_entropy, 0.1);
}

TEST(TrainerSoftmax, Errors) {
  EXPECT_THROW(SoftmaxLayer(0, 2, 1), Error);
  EXPECT_THROW(SoftmaxLayer(3, 1, 1), Error);
  EXPECT_THROW(SoftmaxLayer(2, 2, {1, 2, 3}, {0, 0}), Error);
  SoftmaxLayer layer(2, 2, 1);
  std::vector<float> x = {1, 2, 3};
  std::vector<int> one = {0};
  EXPECT_THROW(layer.evaluate(x, one), Error);  // 3 values are not rows of 2
  std::vector<float> x2 = {1, 2};
  std::vector<int> bad = {2};
  EXPECT_EQ(error_of([&] { layer.gradients(x2, bad); }),
            "softmax layer: label 2 is outside [0, 2)");
  std::vector<float> none;
  std::vector<int> no_labels;
  EXPECT_THROW(layer.gradients(none, no_labels), Error);
}

Dataset three_classes() {
  Dataset d;
  d.image_dir = "photos";
  for (int c = 0; c < 3; ++c) {
    ImageClass ic;
    ic.dir_name = ic.label = std::string(1, static_cast<char>('a' + c));
    for (int i = 0; i <= c; ++i) ic.training.push_back(std::to_string(i) + ".jpg");
    ic.validation.push_back("v.jpg");
    d.classes.push_back(ic);
  }
  d.classes[1].validation.clear();
  return d;
}

TEST(TrainerSampling, NegativeSizeTakesEverythingInOrder) {
  Dataset d = three_classes();
  Random r(1);
  EXPECT_EQ(sample_batch(d, Split::kTraining, -1, r),
            (std::vector<Sample>{{0, 0}, {1, 0}, {1, 1}, {2, 0}, {2, 1}, {2, 2}}));
  EXPECT_EQ(sample_batch(d, Split::kValidation, -1, r), (std::vector<Sample>{{0, 0}, {2, 0}}));
}

TEST(TrainerSampling, RandomClassThenIndexModuloCount) {
  Dataset d = three_classes();
  Random r(3), replay(3);
  std::vector<Sample> batch = sample_batch(d, Split::kTraining, 500, r);
  ASSERT_EQ(batch.size(), 500u);
  std::map<int, int> per_class;
  for (const Sample& s : batch) {
    // The same draws by hand: class below 3, then an index below 2^27 modulo the count.
    int c = static_cast<int>(replay.below(3));
    uint64_t index = replay.below(uint64_t{1} << 27);
    EXPECT_EQ(s.class_index, c);
    EXPECT_EQ(s.image_index, index % d.classes[c].training.size());
    ++per_class[s.class_index];
  }
  // Classes are equally likely whatever their size (with replacement).
  for (auto [c, n] : per_class) EXPECT_NEAR(n, 500 / 3, 45) << c;
  Random again(3);
  EXPECT_EQ(sample_batch(d, Split::kTraining, 500, again), batch);
}

TEST(TrainerSampling, SkipsClassesWithoutImagesInTheSet) {
  Dataset d = three_classes();
  Random r(4);
  for (const Sample& s : sample_batch(d, Split::kValidation, 100, r)) EXPECT_NE(s.class_index, 1);
  EXPECT_EQ(error_of([&] { sample_batch(d, Split::kTesting, 10, r); }),
            "--image_dir photos: no class has any image in the testing set");
  EXPECT_TRUE(sample_batch(d, Split::kTraining, 0, r).empty());
}

}  // namespace
}  // namespace poet::trainer
