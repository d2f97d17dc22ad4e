// poet::Graph -> GraphDef.
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/wire_format_lite.h>

#include <algorithm>
#include <functional>
#include <limits>

#include "engine/file_io.h"
#include "importers/tensorflow/graphdef.h"

namespace poet::tf {
namespace {

void shape_to_proto(const PartialShape& shape, tensorflow::TensorShapeProto* proto) {
  if (!shape.known_rank) {
    proto->set_unknown_rank(true);
    return;
  }
  for (int64_t d : shape.dims) proto->add_dim()->set_size(d);
}

void attr_to_proto(const AttrValue& value, tensorflow::AttrValue* proto) {
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, int64_t>)
          proto->set_i(v);
        else if constexpr (std::is_same_v<T, float>)
          proto->set_f(v);
        else if constexpr (std::is_same_v<T, bool>)
          proto->set_b(v);
        else if constexpr (std::is_same_v<T, std::string>)
          proto->set_s(v);
        else if constexpr (std::is_same_v<T, DType>)
          proto->set_type(dtype_to_proto(v));
        else if constexpr (std::is_same_v<T, PartialShape>)
          shape_to_proto(v, proto->mutable_shape());
        else if constexpr (std::is_same_v<T, Tensor>)
          tensor_to_proto(v, proto->mutable_tensor());
        else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
          auto* list = proto->mutable_list();
          for (int64_t i : v) list->add_i(i);
        } else if constexpr (std::is_same_v<T, std::vector<float>>) {
          auto* list = proto->mutable_list();
          for (float f : v) list->add_f(f);
        } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          auto* list = proto->mutable_list();
          for (const std::string& s : v) list->add_s(s);
        } else if constexpr (std::is_same_v<T, std::vector<DType>>) {
          auto* list = proto->mutable_list();
          for (DType t : v) list->add_type(dtype_to_proto(t));
        }
      },
      value);
}

}  // namespace

void tensor_to_proto(const Tensor& tensor, tensorflow::TensorProto* proto) {
  proto->set_dtype(dtype_to_proto(tensor.dtype()));
  shape_to_proto(PartialShape(tensor.shape()), proto->mutable_tensor_shape());
  if (tensor.dtype() == DType::kString) {
    for (const std::string& s : tensor.strings()) proto->add_string_val(s);
    return;
  }
  // Raw bytes, as TensorFlow writes any tensor with more than a handful of elements.
  proto->set_tensor_content(reinterpret_cast<const char*>(tensor.bytes().data()),
                            tensor.byte_size());
}

namespace {

constexpr int kProducer = 21;  // GraphDef version of TensorFlow 1.x

// The version a written graph claims: its file's, as TensorFlow keeps the lower of a graph's
// and its own when it imports one, so that ops removed since stay loadable; a graph poet built
// claims kProducer. 0 (a file without one, as retrain.py writes them) is written as none.
int producer_of(const Graph& graph) {
  return std::min(graph.producer().value_or(kProducer), kProducer);
}

void node_to_proto(const Graph& graph, const Node& node, tensorflow::NodeDef* proto) {
  proto->set_name(node.name);
  proto->set_op(node.op);
  for (const Endpoint& e : node.inputs)
    proto->add_input(e.index == 0 ? graph.node(e.node).name : graph.endpoint_name(e));
  for (int c : node.control_inputs) proto->add_input("^" + graph.node(c).name);
  for (const auto& [key, value] : node.attrs) attr_to_proto(value, &(*proto->mutable_attr())[key]);
}

// Streams the bytes `serialize` writes into `path` (write_file_atomic), deterministically:
// map entries (attributes) sorted, so the same graph always gives the same bytes. Streamed,
// not built in memory: a 90 MB Inception v3 would otherwise be held twice more at once.
void write_serialized(
    const std::filesystem::path& path,
    const std::function<void(google::protobuf::io::CodedOutputStream&)>& serialize) {
  write_file_atomic(path, [&](std::ostream& out) {
    google::protobuf::io::OstreamOutputStream stream(&out, 1 << 20);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    serialize(coded);
    coded.Trim();
    // A failed write stops the coded stream too; it is write_file_atomic's to report, as for
    // any file, once the stream is flushed.
    if (coded.HadError() && out) fail(path.string(), ": cannot serialise the graph");
  });
}

// Protobuf's limit for one message, which TensorFlow's readers keep.
void check_size(const std::filesystem::path& path, size_t size) {
  if (size > static_cast<size_t>(std::numeric_limits<int>::max()))
    fail(path.string(), ": cannot serialise the graph: ", size, " bytes, over protobuf's 2 GB");
}

}  // namespace

tensorflow::GraphDef export_graphdef(const Graph& graph, size_t max_tensor_bytes) {
  tensorflow::GraphDef graph_def;
  if (const int producer = producer_of(graph); producer > 0)
    graph_def.mutable_versions()->set_producer(producer);
  for (const Node& node : graph.nodes()) {
    tensorflow::NodeDef* proto = graph_def.add_node();
    node_to_proto(graph, node, proto);
    for (auto& [key, attr] : *proto->mutable_attr()) {
      if (!attr.has_tensor() || attr.tensor().ByteSizeLong() <= max_tensor_bytes) continue;
      tensorflow::TensorProto kept;
      kept.set_dtype(attr.tensor().dtype());
      *kept.mutable_tensor_shape() = attr.tensor().tensor_shape();
      attr.mutable_tensor()->Swap(&kept);
    }
  }
  return graph_def;
}

void write_graphdef(const tensorflow::GraphDef& graph_def, const std::filesystem::path& path) {
  if (is_text_name(path)) {
    std::string text;
    if (!google::protobuf::TextFormat::PrintToString(graph_def, &text))
      fail(path.string(), ": cannot print the graph as text");
    write_file_atomic(path, text);
    return;
  }
  const size_t size = graph_def.ByteSizeLong();
  check_size(path, size);
  write_serialized(path, [&](google::protobuf::io::CodedOutputStream& coded) {
    graph_def.SerializeWithCachedSizes(&coded);
  });
}

// The bytes of write_graphdef(export_graphdef(graph)), a node at a time: GraphDef's fields are
// serialised in field-number order, its nodes (1) first and its versions (4) last, so only
// one node's copy of its weights is held at a time.
void write_graphdef(const Graph& graph, const std::filesystem::path& path) {
  if (is_text_name(path)) return write_graphdef(export_graphdef(graph), path);
  using google::protobuf::internal::WireFormatLite;
  write_serialized(path, [&](google::protobuf::io::CodedOutputStream& coded) {
    size_t total = 0;
    auto write_field = [&](int number, const google::protobuf::MessageLite& message) {
      const size_t size = message.ByteSizeLong();  // caches the sizes serialising uses
      total += size;
      check_size(path, total);
      WireFormatLite::WriteTag(number, WireFormatLite::WIRETYPE_LENGTH_DELIMITED, &coded);
      coded.WriteVarint32(static_cast<uint32_t>(size));
      message.SerializeWithCachedSizes(&coded);
    };
    for (const Node& node : graph.nodes()) {
      tensorflow::NodeDef proto;
      node_to_proto(graph, node, &proto);
      write_field(tensorflow::GraphDef::kNodeFieldNumber, proto);
    }
    if (const int producer = producer_of(graph); producer > 0) {
      tensorflow::VersionDef versions;
      versions.set_producer(producer);
      write_field(tensorflow::GraphDef::kVersionsFieldNumber, versions);
    }
  });
}

}  // namespace poet::tf
