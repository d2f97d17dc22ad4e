// TensorFlow GraphDef <-> poet::Graph. Reads binary .pb and text .pbtxt files with poet's own
// copy of TensorFlow's protos (importers/tensorflow/proto, same field numbers), and writes
// poet graphs back as GraphDefs that TensorFlow loads.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string_view>

#include "engine/graph.h"
#include "importers/tensorflow/proto/graph.pb.h"

namespace poet::tf {

// Whether a GraphDef file is in text format: its name ends in .pbtxt or .txt.
bool is_text_name(const std::filesystem::path& path);

// Reads a GraphDef, in the format its name says. Errors name the file.
tensorflow::GraphDef read_graphdef(const std::filesystem::path& path);
// The same from bytes in memory (text or binary format); `what` names the source in errors.
tensorflow::GraphDef parse_graphdef(std::string_view bytes, bool text, std::string_view what);

// Bounds on what an untrusted GraphDef may claim. Nesting deeper than kMaxNesting (messages
// within messages) is rejected by the parsers; a graph of more than kMaxNodes nodes by the
// importer. Constants whose values repeat a shorter list ("float_val: 0" for a [1000,1000]
// tensor) may expand to at most max(kMinExpansionBytes, kExpansionFactor * serialized size)
// bytes in total, so that a small file cannot make poet allocate gigabytes.
inline constexpr int kMaxNesting = 100;
inline constexpr int kMaxNodes = 1 << 20;
inline constexpr uint64_t kMinExpansionBytes = uint64_t{64} << 20;
inline constexpr uint64_t kExpansionFactor = 16;

// Converts a GraphDef; weights are moved out of `graph_def`, which is left without them.
// Parts poet cannot represent (an unsupported dtype, say) become the node's import_error,
// reported only if the node is ever needed.
Graph import_graphdef(tensorflow::GraphDef&& graph_def);

// read_graphdef + import_graphdef.
Graph load_graphdef(const std::filesystem::path& path);

// A poet graph as a GraphDef. A tensor attribute (a Const's value) over `max_tensor_bytes`
// keeps only its dtype and shape: TensorFlow reads it as zeros; a node at a time is held whole.
tensorflow::GraphDef export_graphdef(const Graph& graph, size_t max_tensor_bytes = SIZE_MAX);
// Write a GraphDef, atomically (a temporary file, then rename), in the format the name says,
// so that read_graphdef reads it back. The second writes a binary file without building the
// GraphDef, streaming a node at a time.
void write_graphdef(const tensorflow::GraphDef& graph_def, const std::filesystem::path& path);
void write_graphdef(const Graph& graph, const std::filesystem::path& path);

// One tensor in each direction. `what` names the tensor in errors.
Tensor tensor_from_proto(const tensorflow::TensorProto& proto, std::string_view what);
void tensor_to_proto(const Tensor& tensor, tensorflow::TensorProto* proto);
DType dtype_from_proto(int proto_dtype, std::string_view what);
tensorflow::DataType dtype_to_proto(DType dtype);

}  // namespace poet::tf
