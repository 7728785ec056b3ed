#include "client/health.h"

#include <google/protobuf/unknown_field_set.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/byte_buffer.h>

#include <chrono>
#include <future>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/errors.h"

namespace flopwise::client {
namespace {

// The messages of grpc/health/v1/health.proto, built and read as raw protobuf
// (the .proto is not installed with Debian's gRPC):
// HealthCheckRequest{string service = 1}, HealthCheckResponse{ServingStatus status = 1}.
constexpr int kServiceField = 1;
constexpr int kStatusField = 1;

std::string EncodeRequest(const std::string& service) {
  google::protobuf::UnknownFieldSet fields;
  fields.AddLengthDelimited(kServiceField, service);
  std::string bytes;
  fields.SerializeToString(&bytes);
  return bytes;
}

// The status field of a HealthCheckResponse; 0 (UNKNOWN) when absent.
uint64_t DecodeStatus(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (!buffer.Dump(&slices).ok()) return 0;
  for (const grpc::Slice& slice : slices) {
    bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  google::protobuf::UnknownFieldSet fields;
  if (!fields.ParseFromString(bytes)) return 0;
  uint64_t status = 0;
  for (int i = 0; i < fields.field_count(); ++i) {
    const google::protobuf::UnknownField& field = fields.field(i);
    if (field.number() == kStatusField &&
        field.type() == google::protobuf::UnknownField::TYPE_VARINT) {
      status = field.varint();
    }
  }
  return status;
}

std::string StatusName(uint64_t status) {
  switch (status) {
    case 1:
      return "SERVING";
    case 2:
      return "NOT_SERVING";
    case 3:
      return "SERVICE_UNKNOWN";
    default:
      return "UNKNOWN";
  }
}

}  // namespace

absl::StatusOr<std::string> CheckHealth(const ConnectOptions& options, const std::string& service) {
  grpc::GenericStub stub(MakeChannel(options));
  const std::string request_bytes = EncodeRequest(service);
  grpc::Slice slice(request_bytes);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::milliseconds(options.timeout_ms));
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status status) { done.set_value(std::move(status)); });
  const grpc::Status status = done.get_future().get();
  if (!status.ok()) {
    const absl::Status error = FromGrpc(status);
    return absl::Status(error.code(), absl::StrCat(options.coordinator, ": ", error.message()));
  }
  return StatusName(DecodeStatus(response));
}

}  // namespace flopwise::client
