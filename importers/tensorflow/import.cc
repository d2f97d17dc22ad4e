// GraphDef -> poet::Graph.
#include <fcntl.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <google/protobuf/text_format.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>

#include "engine/file_io.h"
#include "importers/tensorflow/graphdef.h"

namespace poet::tf {
namespace {

using tensorflow::AttrValue;
using tensorflow::TensorProto;

// What constants may still create beyond the bytes their file stores (see kExpansionFactor).
struct ExpansionBudget {
  uint64_t bytes_left = 0;
};

// a * b, saturating at the largest uint64_t (every caller compares the result to a limit).
uint64_t mul_sat(uint64_t a, uint64_t b) {
  if (a != 0 && b > std::numeric_limits<uint64_t>::max() / a)
    return std::numeric_limits<uint64_t>::max();
  return a * b;
}

Tensor tensor_from_proto(const TensorProto& proto, std::string_view what, ExpansionBudget* budget);

// Keeps the text parser's first complaint for the error message instead of logging it.
class FirstError : public google::protobuf::io::ErrorCollector {
 public:
  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    if (text.empty()) text = str_cat("line ", line + 1, ", column ", column + 1, ": ", message);
  }
  std::string text;
};

// Fills `out` from a typed *_val list, repeating the last value to fill the shape as
// TensorFlow does ("float_val: 0" makes an all-zero tensor of any size).
template <class Out, class List>
void fill_from_list(std::span<Out> out, const List& list, std::string_view what) {
  if (static_cast<size_t>(list.size()) > out.size())
    fail(what, ": ", list.size(), " values for a tensor of ", out.size(), " elements");
  if (list.empty()) return;  // zeros, as allocated
  size_t i = 0;
  for (; i < static_cast<size_t>(list.size()); ++i) out[i] = static_cast<Out>(list.Get(i));
  std::fill(out.begin() + i, out.end(), static_cast<Out>(list.Get(list.size() - 1)));
}

PartialShape shape_from_proto(const tensorflow::TensorShapeProto& proto, std::string_view what) {
  if (proto.unknown_rank()) return PartialShape::unknown();
  Shape dims;
  for (const auto& d : proto.dim()) {
    if (d.size() < -1) fail(what, ": dimension ", d.size(), " is invalid");
    dims.push_back(d.size());
  }
  return PartialShape(std::move(dims));
}

AttrValue::ValueCase list_kind(const AttrValue::ListValue& list) {
  if (list.i_size()) return AttrValue::kI;
  if (list.f_size()) return AttrValue::kF;
  if (list.s_size()) return AttrValue::kS;
  if (list.type_size()) return AttrValue::kType;
  if (list.b_size()) return AttrValue::kB;
  if (list.shape_size()) return AttrValue::kShape;
  if (list.tensor_size()) return AttrValue::kTensor;
  if (list.func_size()) return AttrValue::kFunc;
  return AttrValue::VALUE_NOT_SET;
}

poet::AttrValue list_from_proto(const AttrValue::ListValue& list, std::string_view what) {
  switch (list_kind(list)) {
    case AttrValue::VALUE_NOT_SET:
      return std::vector<int64_t>{};
    case AttrValue::kI:
      return std::vector<int64_t>(list.i().begin(), list.i().end());
    case AttrValue::kF:
      return std::vector<float>(list.f().begin(), list.f().end());
    case AttrValue::kS:
      return std::vector<std::string>(list.s().begin(), list.s().end());
    case AttrValue::kType: {
      std::vector<DType> types;
      for (int t : list.type()) types.push_back(dtype_from_proto(t, what));
      return types;
    }
    default:
      fail(what, ": lists of this kind are not supported");
  }
}

poet::AttrValue attr_from_proto(AttrValue& proto, std::string_view what, ExpansionBudget* budget) {
  switch (proto.value_case()) {
    case AttrValue::kS:
      return proto.s();
    case AttrValue::kI:
      return static_cast<int64_t>(proto.i());
    case AttrValue::kF:
      return proto.f();
    case AttrValue::kB:
      return proto.b();
    case AttrValue::kType:
      return dtype_from_proto(proto.type(), what);
    case AttrValue::kShape:
      return shape_from_proto(proto.shape(), what);
    case AttrValue::kTensor: {
      Tensor t = tensor_from_proto(proto.tensor(), what, budget);
      // Release the weights as we go: clear() would keep the string's capacity.
      std::string().swap(*proto.mutable_tensor()->mutable_tensor_content());
      return t;
    }
    case AttrValue::kList:
      return list_from_proto(proto.list(), what);
    default:
      fail(what, ": function and placeholder attributes are not supported");
  }
}

Node node_from_proto(tensorflow::NodeDef& proto, ExpansionBudget& budget) {
  Node node;
  node.name = proto.name();
  node.op = proto.op();
  for (auto& [key, value] : *proto.mutable_attr()) {
    // Attributes starting with '_' are TensorFlow's bookkeeping (_class, _output_shapes).
    if (key.empty() || key[0] == '_') continue;
    try {
      node.attrs[key] = attr_from_proto(value, str_cat("attribute '", key, "'"), &budget);
    } catch (const Error& e) {
      if (node.import_error.empty()) node.import_error = e.what();
    }
  }
  return node;
}

// Resolves "name", "name:k" and "^name" inputs once every node exists.
void add_inputs(Graph& graph, int n, const tensorflow::NodeDef& proto) {
  Node& node = graph.node(n);
  for (const std::string& input : proto.input()) {
    if (input.empty()) fail(node.describe(), ": has an empty input name");
    try {
      if (input[0] == '^') {
        node.control_inputs.push_back(graph.endpoint(input.substr(1)).node);
      } else {
        node.inputs.push_back(graph.endpoint(input));
      }
    } catch (const Error& e) {
      fail(node.describe(), ": input '", input, "': ", e.what());
    }
  }
}

}  // namespace

DType dtype_from_proto(int proto_dtype, std::string_view what) {
  switch (proto_dtype) {
    case tensorflow::DT_FLOAT:
      return DType::kFloat32;
    case tensorflow::DT_HALF:
      return DType::kFloat16;
    case tensorflow::DT_INT32:
      return DType::kInt32;
    case tensorflow::DT_INT64:
      return DType::kInt64;
    case tensorflow::DT_UINT8:
      return DType::kUInt8;
    case tensorflow::DT_QUINT8:
      return DType::kQUInt8;
    case tensorflow::DT_STRING:
      return DType::kString;
    case tensorflow::DT_BOOL:
      return DType::kBool;
    default:
      break;
  }
  const std::string& name =
      tensorflow::DataType_Name(static_cast<tensorflow::DataType>(proto_dtype));
  fail(what, ": dtype ", name.empty() ? std::to_string(proto_dtype) : name,
       " is not supported (poet reads float, half, int32, int64, uint8, quint8, string, bool)");
}

tensorflow::DataType dtype_to_proto(DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
      return tensorflow::DT_FLOAT;
    case DType::kFloat16:
      return tensorflow::DT_HALF;
    case DType::kInt32:
      return tensorflow::DT_INT32;
    case DType::kInt64:
      return tensorflow::DT_INT64;
    case DType::kUInt8:
      return tensorflow::DT_UINT8;
    case DType::kQUInt8:
      return tensorflow::DT_QUINT8;
    case DType::kString:
      return tensorflow::DT_STRING;
    case DType::kBool:
      return tensorflow::DT_BOOL;
    case DType::kInvalid:
      break;
  }
  return tensorflow::DT_INVALID;
}

namespace {

// How many values the typed *_val list for dtype stores.
int stored_values(const TensorProto& proto, DType dtype) {
  switch (dtype) {
    case DType::kFloat32:
      return proto.float_val_size();
    case DType::kFloat16:
      return proto.half_val_size();
    case DType::kInt64:
      return proto.int64_val_size();
    case DType::kBool:
      return proto.bool_val_size();
    case DType::kString:
      return proto.string_val_size();
    default:
      return proto.int_val_size();
  }
}

// Takes `bytes` that a constant creates by repeating stored values from the budget, or fails.
void spend(ExpansionBudget* budget, uint64_t bytes, const Shape& shape, std::string_view what) {
  if (!budget) return;
  if (bytes > budget->bytes_left)
    fail(what, ": constant ", shape_string(shape), " repeats its stored values to fill ", bytes,
         " bytes; the graph's constants may expand to only ", budget->bytes_left,
         " more bytes (limit: max(64 MiB, 16 x the file size))");
  budget->bytes_left -= bytes;
}

Tensor string_tensor(const TensorProto& proto, const Shape& shape, int64_t count,
                     std::string_view what, ExpansionBudget* budget) {
  const int stored = proto.string_val_size();
  if (stored != count && !(count > 0 && stored == 1))
    fail(what, ": ", stored, " strings for shape ", shape_string(shape));
  // Repeating one long string is the way a small file could claim a huge string tensor.
  uint64_t bytes = 0;
  for (int i = 0; i < stored; ++i) bytes += proto.string_val(i).size() + sizeof(std::string);
  if (stored == 1) bytes = mul_sat(bytes, static_cast<uint64_t>(count));
  if (bytes > max_tensor_bytes())
    fail(what, ": string tensor ", shape_string(shape), " needs ", bytes,
         " bytes, more than the limit of ", max_tensor_bytes(), " (POET_MAX_TENSOR_BYTES)");
  if (stored == 1 && count > 1) spend(budget, bytes, shape, what);
  Tensor t(DType::kString, shape);
  for (int64_t i = 0; i < count; ++i)
    t.strings()[i] = proto.string_val(stored == 1 ? 0 : static_cast<int>(i));
  return t;
}

Tensor tensor_from_proto(const TensorProto& proto, std::string_view what, ExpansionBudget* budget) {
  DType dtype = dtype_from_proto(proto.dtype(), what);
  PartialShape shape = shape_from_proto(proto.tensor_shape(), what);
  if (!shape.fully_known()) fail(what, ": a constant tensor must have a known shape");
  int64_t count = num_elements(shape.dims);
  if (dtype == DType::kString) return string_tensor(proto, shape.dims, count, what, budget);
  const uint64_t want = mul_sat(static_cast<uint64_t>(count), dtype_size(dtype));
  if (want > max_tensor_bytes())
    fail(what, ": tensor ", shape.str(), " of ", dtype_name(dtype), " needs ", want,
         " bytes, more than the limit of ", max_tensor_bytes(), " (POET_MAX_TENSOR_BYTES)");
  if (!proto.tensor_content().empty()) {
    const std::string& content = proto.tensor_content();
    if (content.size() != want)
      fail(what, ": tensor_content has ", content.size(), " bytes, shape ", shape.str(), " of ",
           dtype_name(dtype), " needs ", want);
    // Any other byte would be an invalid bool, undefined behaviour to read.
    if (dtype == DType::kBool &&
        std::any_of(content.begin(), content.end(), [](char c) { return c != 0 && c != 1; }))
      fail(what, ": bool tensor_content holds bytes other than 0 and 1");
    Tensor t(dtype, shape.dims);
    std::memcpy(t.bytes().data(), content.data(), want);
    return t;
  }
  if (stored_values(proto, dtype) < count) spend(budget, want, shape.dims, what);
  Tensor t(dtype, shape.dims);
  switch (dtype) {
    case DType::kFloat32:
      fill_from_list(t.data<float>(), proto.float_val(), what);
      break;
    case DType::kFloat16:
      fill_from_list(t.data<uint16_t>(), proto.half_val(), what);
      break;
    case DType::kInt32:
      fill_from_list(t.data<int32_t>(), proto.int_val(), what);
      break;
    case DType::kInt64:
      fill_from_list(t.data<int64_t>(), proto.int64_val(), what);
      break;
    case DType::kUInt8:
    case DType::kQUInt8:
      fill_from_list(t.data<uint8_t>(), proto.int_val(), what);
      break;
    case DType::kBool:
      fill_from_list(t.data<bool>(), proto.bool_val(), what);
      break;
    default:
      break;
  }
  return t;
}

// Binary GraphDef from a stream, with the nesting limit set explicitly.
bool parse_binary(google::protobuf::io::ZeroCopyInputStream& stream,
                  tensorflow::GraphDef& graph_def) {
  google::protobuf::io::CodedInputStream coded(&stream);
  coded.SetRecursionLimit(kMaxNesting);
  return graph_def.ParseFromCodedStream(&coded) && coded.ConsumedEntireMessage();
}

}  // namespace

Tensor tensor_from_proto(const TensorProto& proto, std::string_view what) {
  return tensor_from_proto(proto, what, nullptr);
}

tensorflow::GraphDef parse_graphdef(std::string_view bytes, bool text, std::string_view what) {
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max()))
    fail(what, ": ", bytes.size(), " bytes is larger than a GraphDef can be (2 GiB)");
  tensorflow::GraphDef graph_def;
  if (text) {
    google::protobuf::TextFormat::Parser parser;
    FirstError error;
    parser.RecordErrorsTo(&error);
    // Without a limit the text parser recurses once per nesting level until the stack ends.
    parser.SetRecursionLimit(kMaxNesting);
    google::protobuf::io::ArrayInputStream stream(bytes.data(), static_cast<int>(bytes.size()));
    if (!parser.Parse(&stream, &graph_def)) fail(what, ": not a valid text GraphDef: ", error.text);
    return graph_def;
  }
  google::protobuf::io::ArrayInputStream stream(bytes.data(), static_cast<int>(bytes.size()));
  if (!parse_binary(stream, graph_def))
    fail(what, ": not a valid binary GraphDef (truncated or not a TensorFlow .pb file)");
  return graph_def;
}

bool is_text_name(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  return ext == ".pbtxt" || ext == ".txt";
}

tensorflow::GraphDef read_graphdef(const std::filesystem::path& path) {
  if (is_text_name(path)) return parse_graphdef(read_file(path), true, path.string());
  check_regular_file(path);
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) fail_to_open(path);
  // Parse straight from the file: no second copy of the weights in memory.
  google::protobuf::io::FileInputStream stream(fd);
  stream.SetCloseOnDelete(true);
  tensorflow::GraphDef graph_def;
  if (!parse_binary(stream, graph_def))
    fail(path.string(), ": not a valid binary GraphDef (truncated or not a TensorFlow .pb file)");
  return graph_def;
}

Graph import_graphdef(tensorflow::GraphDef&& graph_def) {
  if (graph_def.node_size() > kMaxNodes)
    fail("the graph has ", graph_def.node_size(), " nodes, more than poet's limit of ", kMaxNodes);
  ExpansionBudget budget{
      std::max(kMinExpansionBytes, mul_sat(graph_def.ByteSizeLong(), kExpansionFactor))};
  Graph graph;
  for (tensorflow::NodeDef& proto : *graph_def.mutable_node())
    graph.add(node_from_proto(proto, budget));
  for (int n = 0; n < graph.size(); ++n) add_inputs(graph, n, graph_def.node(n));
  graph.topological_order();  // rejects cycles now rather than at first use
  graph.set_producer(graph_def.has_versions() ? graph_def.versions().producer() : 0);
  return graph;
}

Graph load_graphdef(const std::filesystem::path& path) {
  try {
    tensorflow::GraphDef graph_def = read_graphdef(path);
    // An empty file parses as an empty GraphDef: almost surely a copy or download cut short.
    if (graph_def.node_size() == 0) fail(path.string(), ": a GraphDef without nodes (empty file?)");
    return import_graphdef(std::move(graph_def));
  } catch (const Error& e) {
    std::string msg = e.what();
    if (msg.rfind(path.string(), 0) == 0) throw;
    fail(path.string(), ": ", msg);
  }
}

}  // namespace poet::tf
