// The op graph and the TensorFlow importer: tensor parsing, input names, cycles, pruning,
// feeds at any tensor, and errors that name the node and the fetch.
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include "engine/executor.h"
#include "engine/file_io.h"
#include "importers/tensorflow/graphdef.h"
#include "tests/expect_error.h"
#include "tests/fixtures.h"

namespace poet {
namespace {

Graph parse(const std::string& text) {
  tensorflow::GraphDef def;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &def)) << text;
  return tf::import_graphdef(std::move(def));
}

// A float Const from a float_val list, with TensorFlow's fill-by-repeating-the-last-value rule.
std::string float_const(const std::string& name, const std::string& dims, const std::string& vals) {
  return "node { name: '" + name + "' op: 'Const' attr { key: 'dtype' value { type: DT_FLOAT } }" +
         " attr { key: 'value' value { tensor { dtype: DT_FLOAT tensor_shape { " + dims + " } " +
         vals + " } } } }\n";
}

TEST(TensorProto, ShortValueListRepeatsLastValue) {
  tensorflow::TensorProto p;
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
      "dtype: DT_FLOAT tensor_shape { dim { size: 2 } dim { size: 3 } } float_val: 1 float_val: 2",
      &p));
  Tensor t = tf::tensor_from_proto(p, "t");
  EXPECT_EQ(t.shape(), (Shape{2, 3}));
  std::vector<float> got(t.data<float>().begin(), t.data<float>().end());
  EXPECT_EQ(got, (std::vector<float>{1, 2, 2, 2, 2, 2}));
}

TEST(TensorProto, ContentOfWrongSizeIsAnError) {
  tensorflow::TensorProto p;
  p.set_dtype(tensorflow::DT_FLOAT);
  p.mutable_tensor_shape()->add_dim()->set_size(4);
  p.set_tensor_content(std::string(12, '\0'));
  EXPECT_THROW(tf::tensor_from_proto(p, "t"), Error);
}

TEST(TensorProto, RoundTripsEveryDType) {
  for (DType d : {DType::kFloat32, DType::kFloat16, DType::kInt32, DType::kInt64, DType::kUInt8,
                  DType::kQUInt8, DType::kBool}) {
    Tensor t(d, {3});
    for (size_t i = 0; i < t.byte_size(); ++i) t.bytes()[i] = std::byte(i % 2);
    tensorflow::TensorProto p;
    tf::tensor_to_proto(t, &p);
    Tensor back = tf::tensor_from_proto(p, "t");
    EXPECT_EQ(back.dtype(), d);
    EXPECT_TRUE(std::equal(t.bytes().begin(), t.bytes().end(), back.bytes().begin()));
  }
  Tensor s = Tensor::from_string("jpeg bytes");
  tensorflow::TensorProto p;
  tf::tensor_to_proto(s, &p);
  EXPECT_EQ(tf::tensor_from_proto(p, "s").strings()[0], "jpeg bytes");
}

TEST(Import, ResolvesIndexedAndControlInputs) {
  Graph g = parse(float_const("a", "dim { size: 1 }", "float_val: 1") +
                  "node { name: 'b' op: 'Identity' input: 'a:0' input: '^a' }");
  const Node& b = g.node(g.find("b"));
  ASSERT_EQ(b.inputs.size(), 1u);
  EXPECT_EQ(b.inputs[0], (Endpoint{g.find("a"), 0}));
  EXPECT_EQ(b.control_inputs, std::vector<int>{g.find("a")});
}

// TensorFlow's rewrites record where a node came from, and its type inference a node's full
// type; a text graph carrying either must parse (a binary one skips unknown fields).
TEST(Import, TextGraphsMayCarryDebugInfoAndFullTypes) {
  Graph g = parse(float_const("a", "dim { size: 1 }", "float_val: 1") +
                  "node { name: 'b' op: 'Identity' input: 'a' experimental_debug_info { "
                  "original_node_names: 'x' original_func_names: 'f' } }\n"
                  "node { name: 'c' op: 'Identity' input: 'b' experimental_type { "
                  "type_id: TFT_PRODUCT args { type_id: TFT_TENSOR args { type_id: TFT_FLOAT } } "
                  "args { type_id: TFT_VAR s: 'T' } args { type_id: TFT_LITERAL i: 3 } } }");
  EXPECT_EQ(g.size(), 3);
}

// A function library as tf.io.write_graph(..., as_text=True) writes one: a traced function
// (resource argument with its handle data and full type, argument attributes, control outputs), its
// gradient, and a gradient registered for an op type.
constexpr const char* kLibrary = R"(
library {
  function {
    signature {
      name: "__inference_scale_12"
      input_arg { name: "x" type: DT_FLOAT }
      input_arg {
        name: "readvariableop_resource"
        type: DT_RESOURCE
        handle_data { dtype: DT_FLOAT shape { } }
        experimental_full_type { type_id: TFT_TENSOR args { type_id: TFT_FLOAT } }
      }
      output_arg { name: "identity" type: DT_FLOAT }
      attr { name: "T" type: "type" default_value { type: DT_FLOAT } }
      is_stateful: true
      control_output: "ReadVariableOp"
    }
    node_def {
      name: "ReadVariableOp"
      op: "ReadVariableOp"
      input: "readvariableop_resource"
      attr { key: "dtype" value { type: DT_FLOAT } }
    }
    node_def {
      name: "mul"
      op: "Mul"
      input: "x"
      input: "ReadVariableOp:value:0"
      attr { key: "T" value { placeholder: "T" } }
    }
    ret { key: "identity" value: "mul:z:0" }
    control_ret { key: "ReadVariableOp" value: "ReadVariableOp" }
    attr { key: "_input_shapes" value { list { shape { dim { size: -1 } } shape { } } } }
    arg_attr { key: 0 value { attr { key: "_user_specified_name" value { s: "x" } } } }
    resource_arg_unique_id { key: 1 value: 0 }
  }
  gradient { function_name: "__inference_scale_12" gradient_func: "__inference_scale_grad_20" }
  registered_gradients { gradient_func: "__inference_scale_grad_20" registered_op_type: "Scale" }
}
)";

// a = [3, 3]; out = a * a.
std::string squares_graph() {
  return float_const("a", "dim { size: 2 }", "float_val: 3") +
         "node { name: 'out' op: 'Mul' input: 'a' input: 'a' "
         "attr { key: 'T' value { type: DT_FLOAT } } }\n";
}

// poet runs no functions, but a text graph that carries some it never calls runs.
TEST(FunctionLibrary, TextGraphWithALibraryParsesAndRuns) {
  testing::TempDir dir;
  write_file_atomic(dir / "lib.pbtxt", squares_graph() + kLibrary);
  Graph g = tf::load_graphdef(dir / "lib.pbtxt");
  EXPECT_EQ(g.size(), 2);
  Executable exe(g, {}, {"out:0"});
  std::vector<Tensor> out = exe.run({});
  EXPECT_EQ(std::vector<float>(out[0].data<float>().begin(), out[0].data<float>().end()),
            (std::vector<float>{9, 9}));
}

// A node that calls a library function, by op name or through a call op's function attribute,
// fails when it is fetched, naming the node; the graph's other nodes still run.
TEST(FunctionLibrary, ANodeCallingALibraryFunctionFailsNamingIt) {
  Graph g = tf::import_graphdef(tf::parse_graphdef(
      squares_graph() + kLibrary +
          "node { name: 'call' op: '__inference_scale_12' input: 'a' }\n"
          "node { name: 'pcall' op: 'StatefulPartitionedCall' input: 'a' "
          "attr { key: 'f' value { func { name: '__inference_scale_12' } } } }\n",
      true, "calls.pbtxt"));
  EXPECT_EQ(Executable(g, {}, {"out:0"}).run({})[0].data<float>()[0], 9.f);
  testing::expect_error([&] { Executable(g, {}, {"call:0"}); },
                        "node 'call' (__inference_scale_12): poet does not implement op "
                        "'__inference_scale_12'");
  testing::expect_error([&] { Executable(g, {}, {"pcall:0"}); },
                        "node 'pcall' (StatefulPartitionedCall): attribute 'f': function and "
                        "placeholder attributes are not supported");
}

// Protobuf's wire format, written by hand so that the library below is spelt in TensorFlow's
// field numbers, independently of poet's .proto files.
std::string varint(uint64_t v) {
  std::string out;
  for (; v >= 0x80; v >>= 7) out += static_cast<char>((v & 0x7f) | 0x80);
  return out + static_cast<char>(v);
}
std::string field(int number, const std::string& bytes) {  // length-delimited
  return varint(static_cast<uint64_t>(number) << 3 | 2) + varint(bytes.size()) + bytes;
}
std::string field(int number, uint64_t value) {  // varint
  return varint(static_cast<uint64_t>(number) << 3) + varint(value);
}

// Map entries (attributes) sorted, as write_graphdef writes them.
std::string serialized(const tensorflow::GraphDef& def) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    def.SerializeToCodedStream(&coded);
  }
  return out;
}

// squares_graph's nodes and a function library, as binary GraphDef bytes. `extra_arg_field`
// is appended to the function's input argument.
std::string binary_graph_with_library(const std::string& extra_arg_field = "") {
  const uint64_t float_type = tensorflow::DT_FLOAT;
  // ArgDef: name (1), type (3).
  const std::string input = field(1, "x") + field(3, float_type) + extra_arg_field;
  const std::string output = field(1, "y") + field(3, float_type);
  // OpDef: name (1), input_arg (2), output_arg (3).
  const std::string signature = field(1, "f") + field(2, input) + field(3, output);
  // NodeDef: name (1), op (2), input (3).
  const std::string body = field(1, "mul") + field(2, "Mul") + field(3, "x") + field(3, "x");
  // FunctionDef: signature (1), node_def (3), ret (4: a map entry, key 1 and value 2).
  const std::string function =
      field(1, signature) + field(3, body) + field(4, field(1, "y") + field(2, "mul:z:0"));
  // GradientDef: function_name (1), gradient_func (2).
  const std::string gradient = field(1, "f") + field(2, "g");
  // RegisteredGradient: gradient_func (1), registered_op_type (2).
  const std::string registered = field(1, "g") + field(2, "Square");
  // GraphDef: node (1), library (2): function (1), gradient (2), registered_gradients (3).
  return serialized(tf::parse_graphdef(squares_graph(), true, "squares")) +
         field(2, field(1, function) + field(2, gradient) + field(3, registered));
}

// A binary graph's library survives poet's binary reader and writer byte for byte, and text
// format and back; the graph still loads (poet's own export writes no library, as before).
TEST(FunctionLibrary, BinaryGraphWithALibraryRoundTrips) {
  testing::TempDir dir;
  const std::string bytes = binary_graph_with_library();
  write_file_atomic(dir / "lib.pb", bytes);
  EXPECT_EQ(tf::load_graphdef(dir / "lib.pb").size(), 2);
  tensorflow::GraphDef def = tf::read_graphdef(dir / "lib.pb");
  tf::write_graphdef(def, dir / "again.pb");
  EXPECT_EQ(read_file(dir / "again.pb"), bytes);
  // In text the fields carry TensorFlow's names, and parse back to the same bytes.
  tf::write_graphdef(def, dir / "lib.pbtxt");
  const std::string text = read_file(dir / "lib.pbtxt");
  for (const char* fragment :
       {"library {\n  function {\n    signature {\n      name: \"f\"\n      input_arg {\n"
        "        name: \"x\"\n        type: DT_FLOAT\n",
        "    node_def {\n      name: \"mul\"\n      op: \"Mul\"\n      input: \"x\"\n",
        "    ret {\n      key: \"y\"\n      value: \"mul:z:0\"\n",
        "  gradient {\n    function_name: \"f\"\n    gradient_func: \"g\"\n",
        "  registered_gradients {\n    gradient_func: \"g\"\n    registered_op_type: \"Square\"\n"})
    EXPECT_NE(text.find(fragment), std::string::npos) << fragment << "\nnot in:\n" << text;
  EXPECT_EQ(serialized(tf::read_graphdef(dir / "lib.pbtxt")), bytes);
  // A field poet leaves out (ArgDef's experimental_full_type, 17) rides along in binary.
  const std::string with_full_type = binary_graph_with_library(field(17, field(1, uint64_t{3})));
  write_file_atomic(dir / "full_type.pb", with_full_type);
  tf::write_graphdef(tf::read_graphdef(dir / "full_type.pb"), dir / "full_type_again.pb");
  EXPECT_EQ(read_file(dir / "full_type_again.pb"), with_full_type);
}

TEST(Import, UnknownInputIsAnErrorNamingBoth) {
  try {
    parse("node { name: 'b' op: 'Identity' input: 'nowhere' }");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'b'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("nowhere"), std::string::npos) << e.what();
  }
}

TEST(Import, CycleIsAnError) {
  try {
    parse(
        "node { name: 'a' op: 'Identity' input: 'b' } node { name: 'b' op: 'Identity' input: 'a' "
        "}");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cycle"), std::string::npos) << e.what();
  }
}

// A node TensorFlow's import would refuse against its op's definition is refused, naming it,
// rather than run as if it said something else.
TEST(Import, AnAttributeTheOpDoesNotDefineIsAnError) {
  // Squeeze's attribute is squeeze_dims (Python's `axis` is renamed): `axis` would have been
  // ignored, and every size-1 dimension squeezed.
  Graph g =
      parse(float_const("a", "dim { size: 1 } dim { size: 2 } dim { size: 1 }", "float_val: 1") +
            "node { name: 's' op: 'Squeeze' input: 'a'"
            " attr { key: 'T' value { type: DT_FLOAT } }"
            " attr { key: 'axis' value { list { i: 0 } } }"
            " attr { key: '_output_shapes' value { list { shape { } } } } }");
  testing::expect_error([&] { Executable(g, {}, {"s:0"}); },
                        "node 's' (Squeeze): attribute 'axis' is not one of Squeeze's (T, "
                        "squeeze_dims)");
}

TEST(Import, AnInputOfAnotherTypeThanItsTypeAttributeIsAnError) {
  // T says half, the inputs are float: TensorFlow refuses the edge; poet ran it in float.
  Graph g = parse(float_const("a", "dim { size: 2 }", "float_val: 1") +
                  "node { name: 'r' op: 'Relu' input: 'a'"
                  " attr { key: 'T' value { type: DT_HALF } } }");
  testing::expect_error([&] { Executable(g, {}, {"r:0"}); },
                        "node 'r' (Relu): input 0 is float32, but attribute T says float16");
}

TEST(Import, AConcatOfOneValueIsAnError) {
  Graph g = parse(float_const("a", "dim { size: 2 }", "float_val: 1") +
                  "node { name: 'axis' op: 'Const' attr { key: 'dtype' value { type: DT_INT32 } }"
                  " attr { key: 'value' value { tensor { dtype: DT_INT32 tensor_shape { }"
                  " int_val: 0 } } } }\n"
                  "node { name: 'c' op: 'ConcatV2' input: 'a' input: 'axis'"
                  " attr { key: 'N' value { i: 1 } } attr { key: 'T' value { type: DT_FLOAT } }"
                  " attr { key: 'Tidx' value { type: DT_INT32 } } }");
  testing::expect_error([&] { Executable(g, {}, {"c:0"}); },
                        "node 'c' (ConcatV2): has 2 inputs; it takes 2 or more values and an axis");
}

TEST(Import, APlaceholderWithDefaultWhoseDefaultContradictsItsShapeIsAnError) {
  const std::string node =
      "node { name: 'p' op: 'PlaceholderWithDefault' input: 'a'"
      " attr { key: 'dtype' value { type: DT_FLOAT } }"
      " attr { key: 'shape' value { shape { dim { size: -1 } dim { size: ";
  Graph bad = parse(float_const("a", "dim { size: 1 } dim { size: 2 }", "float_val: 1") + node +
                    "3 } } } } }");
  testing::expect_error([&] { Executable(bad, {}, {"p:0"}); },
                        "node 'p' (PlaceholderWithDefault): its default has shape [1,2], "
                        "attribute shape says [?,3]");
  Graph good = parse(float_const("a", "dim { size: 1 } dim { size: 2 }", "float_val: 1") + node +
                     "2 } } } } }");
  EXPECT_EQ(Executable(good, {}, {"p:0"}).run({})[0].shape(), (Shape{1, 2}));
}

TEST(Executor, UnknownOpIsReportedOnlyWhenNeeded) {
  Graph g = parse(float_const("a", "dim { size: 2 }", "float_val: 3") +
                  "node { name: 'weird' op: 'FancyOp' input: 'a' }\n"
                  "node { name: 'out' op: 'Identity' input: 'a' }");
  Executable ok(g, {}, {"out:0"});
  EXPECT_EQ(ok.run({})[0].data<float>()[1], 3.f);
  try {
    Executable bad(g, {}, {"weird:0"});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("FancyOp"), std::string::npos) << m;
    EXPECT_NE(m.find("'weird'"), std::string::npos) << m;
    EXPECT_NE(m.find("weird:0"), std::string::npos) << m;
  }
}

TEST(Executor, ConstantFoldingLeavesHugeWorkToRunTime) {
  // A 2048^3 constant MatMul (17 GFLOP, each input 16 MB: within every size cap) is not
  // computed while loading; the small one is. Fetching the big one still computes it.
  const std::string dims = "dim { size: 2048 } dim { size: 2048 }";
  const std::string matmul = " op: 'MatMul' attr { key: 'T' value { type: DT_FLOAT } }";
  Graph g =
      parse(float_const("a", dims, "float_val: 1") + float_const("b", dims, "float_val: 0.5") +
            float_const("c", "dim { size: 2 } dim { size: 2 }", "float_val: 1") +
            "node { name: 'big' input: 'a' input: 'b'" + matmul + " }\n" +
            "node { name: 'small' input: 'c' input: 'c'" + matmul + " }");
  Executable exe(g, {}, {"big:0", "small:0"});
  std::vector<std::string> computed;
  for (const StepInfo& step : exe.steps()) computed.push_back(step.name);
  EXPECT_EQ(computed, std::vector<std::string>{"big"});
  std::vector<Tensor> out = exe.run({});
  EXPECT_EQ(out[0].data<float>()[2048 * 2048 - 1], 1024.f);
  EXPECT_EQ(out[1].data<float>()[3], 2.f);
}

TEST(Executor, FetchOfAMissingOutputIsAnError) {
  // Found by the pbtxt fuzzer: "m:0" of a NoOp (no outputs) was read past the end.
  Graph g = parse(float_const("a", "dim { size: 2 }", "float_val: 3") +
                  "node { name: 'm' op: 'NoOp' input: '^a' }\n"
                  "node { name: 'two' op: 'Identity' input: 'a:1' }");
  for (std::string fetch : {"m:0", "a:1"}) {
    SCOPED_TRACE(fetch);
    try {
      Executable exe(g, {}, {fetch});
      FAIL() << "expected an error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("fetch '" + fetch + "'"), std::string::npos) << e.what();
    }
  }
  try {
    Executable exe(g, {}, {"m:0"});
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("(NoOp) has 0 outputs"), std::string::npos) << e.what();
  }
}

TEST(Executor, StepsOfAbsurdDeclaredShapesCountNoFlops) {
  // Found by the graphdef fuzzer: a placeholder declared [2^62 - 1, 2] made MatMul's flop count
  // overflow. A tensor that large could never be allocated: its step counts no flops.
  Graph g = parse(
      "node { name: 'x' op: 'Placeholder' attr { key: 'dtype' value { type: DT_FLOAT } }"
      " attr { key: 'shape' value { shape { dim { size: 4611686018427387903 } dim { size: 2 } }"
      " } } }\n" +
      float_const("w", "dim { size: 2 } dim { size: 2 }", "float_val: 1") +
      "node { name: 'y' op: 'MatMul' input: 'x' input: 'w'"
      " attr { key: 'T' value { type: DT_FLOAT } } }");
  Executable exe(g, {"x:0"}, {"y:0"});
  ASSERT_EQ(exe.steps().size(), 1u);
  EXPECT_EQ(exe.steps()[0].flops, 0);
}

TEST(Executor, FeedAnyTensorCutsItsAncestors) {
  // 'x' is fed, so the unknown op upstream of it is never needed.
  Graph g = parse(
      "node { name: 'src' op: 'FancyOp' }\n"
      "node { name: 'x' op: 'Identity' input: 'src' attr { key: 'T' value { type: DT_FLOAT } } }\n"
      "node { name: 'y' op: 'Identity' input: 'x' }");
  Executable exe(g, {"x:0"}, {"y:0"});
  Tensor in = Tensor::from_floats({2}, std::vector<float>{1, 2});
  Tensor out = exe.run(std::vector<Tensor>{in})[0];
  EXPECT_EQ(out.data<float>()[1], 2.f);
}

// TensorFlow moves a fed Placeholder's control edges onto its feed; poet walked back to the
// Placeholder and asked for it to be fed. A control edge on a fed Identity keeps it needed.
TEST(Executor, AControlInputOnAFedPlaceholderIsMetByTheFeed) {
  Graph g = parse(
      "node { name: 'a' op: 'Placeholder' attr { key: 'dtype' value { type: DT_FLOAT } } }\n"
      "node { name: 'b' op: 'Identity' input: 'a' }\n"
      "node { name: 'y' op: 'Relu' input: 'a' input: '^a' input: '^b' }");
  Executable exe(g, {"a:0"}, {"y:0"});
  Tensor in = Tensor::from_floats({2}, std::vector<float>{-1, 2});
  Tensor out = exe.run(std::vector<Tensor>{in})[0];
  EXPECT_EQ(out.data<float>()[0], 0.f);
  EXPECT_EQ(out.data<float>()[1], 2.f);
  testing::expect_error([&] { Executable(g, {"b:0"}, {"y:0"}); }, "placeholder 'a' must be fed");
}

TEST(Executor, RepeatedRunsNeverChangeEarlierResults) {
  // in -> a = Relu -> b = Rsqrt(a) -> c = Rsqrt(b), fetching b and c: a is freed after b in
  // each run; results already returned stay as they were, and a new batch size still
  // computes right.
  Graph g = parse(
      "node { name: 'in' op: 'Placeholder' attr { key: 'dtype' value { type: DT_FLOAT } } }\n"
      "node { name: 'a' op: 'Relu' input: 'in' attr { key: 'T' value { type: DT_FLOAT } } }\n"
      "node { name: 'b' op: 'Rsqrt' input: 'a' attr { key: 'T' value { type: DT_FLOAT } } }\n"
      "node { name: 'c' op: 'Rsqrt' input: 'b' attr { key: 'T' value { type: DT_FLOAT } } }");
  Executable exe(g, {"in:0"}, {"b:0", "c:0"});
  auto feed = [](std::vector<float> v) {
    const int64_t n = static_cast<int64_t>(v.size());
    return std::vector<Tensor>{Tensor::from_floats({n}, v)};
  };
  std::vector<Tensor> first = exe.run(feed({1, 16, 256}));
  for (float root : {2.f, 3.f, 5.f}) {
    const float v = root * root * root * root;
    std::vector<Tensor> out = exe.run(feed({v, v, v}));
    EXPECT_FLOAT_EQ(out[0].data<float>()[2], 1 / (root * root));
    EXPECT_FLOAT_EQ(out[1].data<float>()[0], root);
  }
  EXPECT_FLOAT_EQ(first[0].data<float>()[1], 0.25f);
  EXPECT_FLOAT_EQ(first[1].data<float>()[2], 4.f);
  EXPECT_FLOAT_EQ(exe.run(feed({16, 81}))[1].data<float>()[1], 3.f);
}

TEST(Executor, UnfedPlaceholderIsAnError) {
  Graph g = parse(
      "node { name: 'in' op: 'Placeholder' attr { key: 'dtype' value { type: DT_FLOAT } } }\n"
      "node { name: 'y' op: 'Identity' input: 'in' }");
  EXPECT_THROW(Executable(g, {}, {"y:0"}), Error);
}

TEST(Executor, FeedOfWrongShapeIsAnError) {
  Graph g = parse(
      "node { name: 'in' op: 'Placeholder' attr { key: 'dtype' value { type: DT_FLOAT } }"
      " attr { key: 'shape' value { shape { dim { size: 1 } dim { size: 4 } } } } }\n"
      "node { name: 'y' op: 'Identity' input: 'in' }");
  Executable exe(g, {"in:0"}, {"y:0"});
  EXPECT_THROW(exe.run(std::vector<Tensor>{Tensor(DType::kFloat32, {1, 5})}), Error);
  EXPECT_THROW(exe.run(std::vector<Tensor>{Tensor(DType::kInt32, {1, 4})}), Error);
  // The batch dimension may differ: graphs exported for batch 1 run batches.
  EXPECT_EQ(exe.run(std::vector<Tensor>{Tensor(DType::kFloat32, {3, 4})})[0].dim(0), 3);
}

TEST(Import, RealMobileNetGraphLoads) {
  POET_REQUIRE_FIXTURE("mobilenet_v1_0.25_128/frozen_graph.pb");
  Graph g = tf::load_graphdef(testing::fixture("mobilenet_v1_0.25_128/frozen_graph.pb"));
  EXPECT_EQ(g.size(), 555);
  EXPECT_GE(g.find("MobilenetV1/Predictions/Reshape"), 0);
}

TEST(Import, AnEmptyFileIsAnErrorNamingIt) {
  testing::TempDir dir;
  for (const char* name : {"empty.pb", "empty.pbtxt"}) {
    write_file_atomic(dir / name, "");
    testing::expect_error([&] { tf::load_graphdef(dir / name); },
                          (dir / name).string() + ": a GraphDef without nodes (empty file?)");
  }
}

TEST(Import, TruncatedFileIsAnErrorNamingIt) {
  POET_REQUIRE_FIXTURE("mobilenet_v1_0.25_128/frozen_graph.pb");
  testing::TempDir dir;
  std::string bytes = read_file(testing::fixture("mobilenet_v1_0.25_128/frozen_graph.pb"));
  write_file_atomic(dir / "cut.pb", std::string_view(bytes).substr(0, bytes.size() / 2));
  try {
    tf::load_graphdef(dir / "cut.pb");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cut.pb"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace poet
