// The interface every op implements. One Op object is made per graph node when a graph is
// prepared for running: its constructor reads and checks the node's attributes, infer()
// checks input types and shapes and computes the outputs', compute() produces the outputs.
// Each op lives in engine/ops/<op>.cc; the arithmetic lives in kernels/.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/graph.h"
#include "engine/tensor.h"

namespace poet {

class ThreadPool;

enum class Backend { kNative, kOneDnn, kReference };

// "native", "onednn", "ref"; parse_backend gives nullopt for anything else.
std::string_view backend_name(Backend backend);
std::optional<Backend> parse_backend(std::string_view name);

struct OpOptions {
  Backend backend = Backend::kNative;
  // Per op type, a backend that replaces `backend` for that op (e.g. {"Conv2D", kOneDnn}). The
  // optimiser's fused forms count as their op: "_FusedConv2D" is "Conv2D".
  std::map<std::string, Backend> op_backends;
  bool check_numerics = true;  // false: CheckNumerics passes its input through unchecked
  // Native Conv2D runs 3x3, 5x5, 1x7, 7x1, 1x3 and 3x1 stride-1 layers with Winograd where it
  // is faster (engine/ops/conv2d.cc); false: always the direct kernel.
  bool winograd = true;

  // The backend nodes of type `op` run.
  Backend backend_for(std::string_view op) const;
  // Whether any op type runs on `b`, by default or by its own choice.
  bool uses(Backend b) const;
};

// What is known about a tensor before it is computed.
struct TensorInfo {
  DType dtype = DType::kInvalid;
  PartialShape shape;
  std::optional<Tensor> value;  // set when the value is known (constants, folded results)
};

// The bytes of a tensor of fully known shape; -1 when a dimension is unknown or the count
// overflows int64.
int64_t known_bytes(const TensorInfo& t);
// Whether a tensor of fully known shape is over max_tensor_bytes(), or too big to count: no run
// could hold it. False while a dimension is unknown.
bool over_tensor_limit(const TensorInfo& t);

class InferContext {
 public:
  InferContext(const Node& node, std::span<const TensorInfo* const> inputs,
               std::span<TensorInfo> outputs)
      : node_(node), inputs_(inputs), outputs_(outputs) {}

  const Node& node() const { return node_; }
  int num_inputs() const { return static_cast<int>(inputs_.size()); }
  int num_outputs() const { return static_cast<int>(outputs_.size()); }
  const TensorInfo& input(int i) const { return *inputs_[i]; }
  const PartialShape& input_shape(int i) const { return inputs_[i]->shape; }
  // The input's value when known now (always at run time; for constants at load time).
  const Tensor* input_value(int i) const {
    return inputs_[i]->value ? &*inputs_[i]->value : nullptr;
  }

  void set_output(int i, DType dtype, PartialShape shape);
  // For ops whose result is known from shapes alone (Shape): marks the output as constant.
  void set_output_value(int i, Tensor value);

  // Checks there are exactly `n` inputs (or between lo and hi).
  void expect_inputs(int n) const { expect_inputs(n, n); }
  void expect_inputs(int lo, int hi) const;
  // Checks input i has this dtype.
  void expect_dtype(int i, DType dtype) const;
  // Checks input i has this rank (when its rank is known).
  void expect_rank(int i, int rank) const;

  // Throws an Error that names the node.
  template <class... Args>
  [[noreturn]] void fail(Args&&... args) const {
    poet::fail(node_.describe(), ": ", std::forward<Args>(args)...);
  }

 private:
  const Node& node_;
  std::span<const TensorInfo* const> inputs_;
  std::span<TensorInfo> outputs_;
};

class ComputeContext {
 public:
  // `output_stride`: see output_pixel_stride.
  ComputeContext(const Node& node, std::span<const Tensor* const> inputs,
                 std::span<const TensorInfo> output_infos, std::span<Tensor> outputs,
                 ThreadPool* pool, int64_t output_stride = 0)
      : node_(node),
        inputs_(inputs),
        infos_(output_infos),
        outputs_(outputs),
        pool_(pool),
        output_stride_(output_stride) {}

  const Node& node() const { return node_; }
  int num_inputs() const { return static_cast<int>(inputs_.size()); }
  const Tensor& input(int i) const { return *inputs_[i]; }
  // The output tensor, allocated on first use with the shape infer() computed.
  Tensor& output(int i);
  // Makes output i an existing tensor (Identity, Reshape: no copy).
  void set_output(int i, Tensor value);
  // The shape infer() computed for output i; always fully known here.
  const Shape& output_shape(int i) const { return infos_[i].shape.known(); }
  // 0, or when the executor laid output 0 out as channels of a concatenation's output (only for
  // an op whose writes_channel_slices() is true): the floats from one of its pixels to the next.
  int64_t output_pixel_stride() const { return output_stride_; }
  // Output 0's floats from its first to the last it holds: `extent` of them, its element count
  // when dense, more when its pixels lie output_pixel_stride() apart.
  std::span<float> output_floats(int64_t extent);
  // Null when running single-threaded.
  ThreadPool* pool() const { return pool_; }

  template <class... Args>
  [[noreturn]] void fail(Args&&... args) const {
    poet::fail(node_.describe(), ": ", std::forward<Args>(args)...);
  }

 private:
  const Node& node_;
  std::span<const Tensor* const> inputs_;
  std::span<const TensorInfo> infos_;
  std::span<Tensor> outputs_;
  ThreadPool* pool_;
  int64_t output_stride_;
};

class Op {
 public:
  virtual ~Op() = default;
  virtual int num_outputs() const { return 1; }
  // False for ops whose outputs must not be computed at load time even when every input is
  // known (Placeholder, or anything with side effects).
  virtual bool foldable() const { return true; }
  // Output dtypes and shapes from the inputs'. At load, an input computed at run time has no
  // value, and any output dimension that depends on such a value must be left unknown: a run
  // whose inputs have their load-time shapes reuses fully known load-time outputs without
  // calling infer again.
  virtual void infer(InferContext& ctx) const = 0;
  virtual void compute(ComputeContext& ctx) const = 0;
  // Called once at load, before any run, for input `i` of a step when that input is a
  // constant. An op that keeps its own prepared form of it (a packed filter) may build that now
  // and return true, promising never to read the input's data again (only its dtype and
  // shape): the executor then frees the constant if no other step needs it, so the weights
  // live once, packed. `inputs` are the load-time infos of all the op's inputs.
  virtual bool adopt_constant(int /*i*/, std::span<const TensorInfo* const> /*inputs*/) const {
    return false;
  }
  // Whether compute() honours ComputeContext::output_pixel_stride: the executor may then lay
  // output 0 out as its channels of the concatenation that alone reads it, which then has
  // nothing to copy for it.
  virtual bool writes_channel_slices() const { return false; }
  // For a concatenation along the last axis (channels), given its inputs' load-time infos: the
  // inputs it joins, in order, which the executor may then lay out in place; empty for any
  // other op or axis.
  virtual std::vector<int> channel_join_inputs(
      std::span<const TensorInfo* const> /*inputs*/) const {
    return {};
  }
  // Multiply-adds count 2; used by `poet inspect` and `poet bench`. Shapes are fully known.
  virtual int64_t flops(std::span<const TensorInfo> /*inputs*/,
                        std::span<const TensorInfo> /*outputs*/) const {
    return 0;
  }
};

// Makes the Op for a node, or throws an Error when poet does not know the op type or
// cannot honour one of its attribute values. Defined in engine/ops/registry.cc.
std::unique_ptr<Op> make_op(const Node& node, const OpOptions& options);
// Throws an Error when an input's dtype is not the one the node's op type and type attributes
// say (`T: DT_HALF` on float inputs), as TensorFlow's import does. Called before infer().
void check_input_types(const Node& node, std::span<const TensorInfo* const> inputs);
// Throws "<what> '<name>': node 'm' (Add) has 1 output" when `index` is not below `outputs`:
// "m:1" of a node with one output names nothing.
void check_output_index(std::string_view what, std::string_view name, const Node& node, int index,
                        int outputs);
bool is_known_op(std::string_view op_type);

}  // namespace poet
