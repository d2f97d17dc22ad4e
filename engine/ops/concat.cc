// Concat (axis first: Concat(concat_dim, values...), the op of 2015 graphs such as Inception
// v3) and ConcatV2 (axis last: ConcatV2(values..., axis)). Axes may be negative.
#include <algorithm>
#include <numeric>
#include <vector>

#include "engine/ops/registry.h"
#include "engine/ops/shape_util.h"
#include "engine/thread_pool.h"
#include "kernels/ref/concat.h"

namespace poet::ops {
namespace {

class Concat final : public Op {
 public:
  // Below this a copy is not worth handing to another thread.
  static constexpr int64_t kMinBytesPerThread = 64 * 1024;

  Concat(const Node& node, bool axis_first) : axis_first_(axis_first), n_(node.attr_int("N", -1)) {}

  void infer(InferContext& ctx) const override {
    // TensorFlow's N >= 2: a "join" of one value is not a graph TensorFlow would load.
    if (ctx.num_inputs() < 3)
      ctx.fail("has ", ctx.num_inputs(), " inputs; it takes 2 or more values and an axis");
    if (n_ >= 0 && n_ != ctx.num_inputs() - 1)
      ctx.fail("attribute N is ", n_, " but there are ", ctx.num_inputs() - 1, " values");
    // Concat's axis is int32 (check_input_types sees to that), ConcatV2's int32 or int64.
    expect_int_dtype(ctx, axis_input(ctx.num_inputs()));
    const DType dtype = ctx.input(first_value()).dtype;
    if (dtype == DType::kString) ctx.fail("concatenating strings is not supported");
    PartialShape out;
    for (int i = first_value(); i < first_value() + values(ctx); ++i) {
      ctx.expect_dtype(i, dtype);
      const PartialShape& s = ctx.input_shape(i);
      if (!s.known_rank) continue;
      if (s.rank() == 0) ctx.fail("input ", i, " is a scalar; scalars cannot be concatenated");
      if (!out.known_rank) out = PartialShape(Shape(s.rank(), -1));
      if (s.rank() != out.rank())
        ctx.fail("input ", i, " has shape ", s.str(), ", of another rank than ", out.str());
    }
    const Tensor* axis_value = ctx.input_value(axis_input(ctx.num_inputs()));
    if (!out.known_rank || !axis_value) return ctx.set_output(0, dtype, out);
    if (axis_value->num_elements() != 1)
      ctx.fail("the axis must be a scalar, got shape ", shape_string(axis_value->shape()));
    int64_t axis = normalize_axis(ctx, int_values(*axis_value)[0], out.rank(), "axis");
    out.dims[axis] = 0;
    for (int i = first_value(); i < first_value() + values(ctx); ++i) {
      const PartialShape& s = ctx.input_shape(i);
      for (int d = 0; d < out.rank(); ++d) {
        int64_t have = s.dim(d);
        if (d == axis) {
          out.dims[d] = out.dims[d] < 0 || have < 0 ? -1 : out.dims[d] + have;
        } else if (have >= 0 && out.dims[d] >= 0 && have != out.dims[d]) {
          ctx.fail("input ", i, " has shape ", s.str(), ", which differs from the others in ",
                   "dimension ", d, " (concatenating along ", axis, ")");
        } else if (have >= 0) {
          out.dims[d] = have;
        }
      }
    }
    ctx.set_output(0, dtype, out);
  }

  void compute(ComputeContext& ctx) const override {
    const int first = first_value();
    const Tensor& axis_tensor = ctx.input(axis_input(ctx.num_inputs()));
    int64_t axis = int_values(axis_tensor)[0];
    int rank = ctx.input(first).rank();
    if (axis < 0) axis += rank;
    int64_t outer = 1;
    for (int d = 0; d < axis; ++d) outer *= ctx.input(first).dim(d);
    std::span<std::byte> output = ctx.output(0).bytes();
    if (outer == 0) return;
    const int64_t row_bytes = static_cast<int64_t>(output.size()) / outer;
    // An input at its column of the output's first row was written there by its producer
    // (the executor lays such inputs out in place: engine/executor.cc); nothing to copy.
    std::vector<kernels::ref::ConcatInput> inputs;
    int64_t column = 0;
    for (int i = first; i < first + ctx.num_inputs() - 1; ++i) {
      std::span<const std::byte> bytes = ctx.input(i).bytes();
      if (bytes.data() != output.data() + column) inputs.push_back({bytes, column});
      column += static_cast<int64_t>(bytes.size()) / outer;
    }
    if (inputs.empty()) return;
    // Rows split over the threads in order: with the kernels' contiguous splits, each thread
    // copies the rows its core has just written (Inception's joins took 3x longer on 2
    // threads when one thread read them all from the other core's cache).
    const int64_t grain =
        std::max<int64_t>(1, kMinBytesPerThread / std::max<int64_t>(row_bytes, 1));
    parallel_for(ctx.pool(), outer, grain, [&](int64_t begin, int64_t end) {
      std::vector<kernels::ref::ConcatInput> part(inputs.size());
      for (size_t i = 0; i < inputs.size(); ++i) {
        const int64_t row = static_cast<int64_t>(inputs[i].bytes.size()) / outer;
        part[i] = {inputs[i].bytes.subspan(begin * row, (end - begin) * row), inputs[i].column};
      }
      kernels::ref::concat(part, end - begin,
                           output.subspan(begin * row_bytes, (end - begin) * row_bytes));
    });
  }

  // Along the last axis, known at load: the values, in order.
  std::vector<int> channel_join_inputs(std::span<const TensorInfo* const> inputs) const override {
    const int n = static_cast<int>(inputs.size());
    const std::optional<Tensor>& axis = inputs[axis_input(n)]->value;
    const PartialShape& shape = inputs[first_value()]->shape;
    if (!axis || axis->num_elements() != 1 || !shape.known_rank) return {};
    const int64_t a = int_values(*axis)[0];
    if (a != shape.rank() - 1 && a != -1) return {};
    std::vector<int> values(n - 1);
    std::iota(values.begin(), values.end(), first_value());
    return values;
  }

 private:
  int first_value() const { return axis_first_ ? 1 : 0; }
  int axis_input(int num_inputs) const { return axis_first_ ? 0 : num_inputs - 1; }
  static int values(const InferContext& ctx) { return ctx.num_inputs() - 1; }

  bool axis_first_;
  int64_t n_;
};

std::unique_ptr<Op> make_concat(const Node& node, const OpOptions&) {
  return std::make_unique<Concat>(node, /*axis_first=*/true);
}

std::unique_ptr<Op> make_concat_v2(const Node& node, const OpOptions&) {
  return std::make_unique<Concat>(node, /*axis_first=*/false);
}

POET_REGISTER_OP("Concat", make_concat, {.inputs = {"int32", "N*T"}, .attrs = {"N", "T"}});
POET_REGISTER_OP("ConcatV2", make_concat_v2,
                 {.inputs = {"N*T", "Tidx"}, .attrs = {"N", "T", "Tidx"}});

}  // namespace
}  // namespace poet::ops
