// Moves an average pool after the 1x1 convolution that reads it. Both are linear in each
// pixel's channels, and an average's weights sum to 1 (TensorFlow's SAME average leaves the
// padding out), so conv(avg_pool(x)) + bias = avg_pool(conv(x) + bias); the convolution's
// activation then follows the pool, in its epilogue (_FusedAvgPool). With stride 1 and SAME
// padding the convolution runs over as many pixels either way, and the pool averages the
// convolution's output channels instead of its input's: Inception v3's pool towers (a 3x3
// average of 192-2048 channels, then a 1x1 convolution to 32-192) average 4-10x fewer floats.
#include "engine/ops/conv_attrs.h"
#include "engine/optimize/optimize.h"

namespace poet::optimize {
namespace {

// Every live node was made into an op before the optimiser ran, so its attributes read
// without error here.

// An AvgPool whose output has its input's pixels.
bool same_size_average(const Node& node) {
  if (node.op != "AvgPool") return false;
  const ops::WindowAttrs a = ops::read_window_attrs(node, /*pooling=*/true);
  return a.padding == kernels::Padding::kSame && a.stride_h == 1 && a.stride_w == 1;
}

// A 1x1 convolution (Rewrite::pointwise_filter) reading the pool, to fewer output channels than
// input ones.
bool narrowing_pointwise_conv(const Rewrite& rw, const Node& node, int slot) {
  const Tensor* filter = rw.pointwise_filter(node, slot);
  return filter && filter->dim(3) < filter->dim(2);
}

}  // namespace

void pool_after_conv(Rewrite& rw) {
  const size_t original = rw.nodes.size();
  for (size_t p = 0; p < original; ++p) {
    if (!rw.alive[p] || !same_size_average(rw.nodes[p])) continue;
    const auto readers = rw.reader_counts();
    int slot = 0;
    const int c = rw.sole_reader(readers, static_cast<int>(p), slot);
    if (c < 0 || !narrowing_pointwise_conv(rw, rw.nodes[c], slot)) continue;
    const kernels::Activation act = ops::read_fused_activation(rw.nodes[c]);
    // The convolution reads the pool's input, and the pool the convolution, in its readers'
    // place (the pool's SAME windows keep the pixels: both outputs have the tower's shape).
    rw.nodes[c].inputs[0] = rw.nodes[p].inputs.at(0);
    rw.nodes[c].attrs["fused_ops"] = std::vector<std::string>{"BiasAdd"};
    rw.redirect({c, 0}, {static_cast<int>(p), 0});
    rw.nodes[p].inputs = {{c, 0}};
    rw.infos[p] = rw.infos[c];
    if (act != kernels::Activation::kNone) {
      rw.nodes[p].op = "_FusedAvgPool";
      rw.nodes[p].attrs["fused_ops"] =
          std::vector<std::string>{std::string(ops::activation_op(act))};
    }
  }
}

}  // namespace poet::optimize
