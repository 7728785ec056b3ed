// What the coordinator offers besides its own services, over real gRPC on
// loopback: gRPC health checking, server reflection, and TLS from certificate
// files (generated here with the openssl command). The health and reflection
// messages are built and read as raw protobuf, as a tool that knows only their
// published .proto files would.
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/unknown_field_set.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "client/channel.h"
#include "flopwise/v1/user_service.grpc.pb.h"
#include "server/coordinator_server.h"

namespace flopwise::server {
namespace {

namespace fs = std::filesystem;
using google::protobuf::UnknownField;
using google::protobuf::UnknownFieldSet;

constexpr char kClientToken[] = "client-secret";
constexpr char kWorkerToken[] = "worker-secret";

std::string ToBytes(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (!buffer.Dump(&slices).ok()) return bytes;
  for (const grpc::Slice& slice : slices)
    bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  return bytes;
}

grpc::ByteBuffer FromBytes(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

// A length-delimited protobuf field: tag, length, bytes (fields below 16).
std::string LengthDelimited(int field, const std::string& value) {
  return std::string(1, static_cast<char>(field << 3 | 2)) +
         std::string(1, static_cast<char>(value.size())) + value;
}

// The values of one field of a serialized message, as varints or as bytes.
std::vector<uint64_t> Varints(const std::string& message, int field) {
  UnknownFieldSet fields;
  std::vector<uint64_t> values;
  if (!fields.ParseFromString(message)) return values;
  for (int i = 0; i < fields.field_count(); ++i) {
    const UnknownField& f = fields.field(i);
    if (f.number() == field && f.type() == UnknownField::TYPE_VARINT) values.push_back(f.varint());
  }
  return values;
}
std::vector<std::string> Bytes(const std::string& message, int field) {
  UnknownFieldSet fields;
  std::vector<std::string> values;
  if (!fields.ParseFromString(message)) return values;
  for (int i = 0; i < fields.field_count(); ++i) {
    const UnknownField& f = fields.field(i);
    if (f.number() == field && f.type() == UnknownField::TYPE_LENGTH_DELIMITED) {
      values.push_back(f.length_delimited());
    }
  }
  return values;
}

class TransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    spdlog::set_level(spdlog::level::warn);
    dir_ = fs::temp_directory_path() /
           ("flopwise-transport-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    server_.reset();
    fs::remove_all(dir_);
  }

  void StartServer(const std::string& cert_path = "", const std::string& key_path = "") {
    CoordinatorOptions options;
    options.listen = "127.0.0.1:0";
    options.db_path = (dir_ / "coordinator.db").string();
    options.client_token = kClientToken;
    options.worker_token = kWorkerToken;
    options.tls_cert_path = cert_path;
    options.tls_key_path = key_path;
    auto server = CoordinatorServer::Start(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
  }
  std::string Address() const { return "127.0.0.1:" + std::to_string(server_->port()); }
  std::shared_ptr<grpc::Channel> PlainChannel() const {
    return grpc::CreateChannel(Address(), grpc::InsecureChannelCredentials());
  }
  static void SetDeadline(grpc::ClientContext* context) {
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  }

  // grpc.health.v1.Health/Check of `service`: the status and, when OK, the
  // serving status (1: SERVING).
  grpc::Status HealthCheck(const std::string& service, uint64_t* serving_status) {
    grpc::GenericStub stub(PlainChannel());
    grpc::ByteBuffer request = FromBytes(LengthDelimited(1, service));
    grpc::ByteBuffer response;
    grpc::ClientContext context;
    SetDeadline(&context);
    std::promise<grpc::Status> done;
    stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request,
                   &response, [&done](grpc::Status status) { done.set_value(status); });
    const grpc::Status status = done.get_future().get();
    const std::vector<uint64_t> values = Varints(ToBytes(response), 1);
    *serving_status = values.empty() ? 0 : values[0];
    return status;
  }

  // One request and its response on grpc.reflection.v1alpha's bidi stream.
  grpc::Status Reflect(const std::string& request_bytes, std::string* response_bytes) {
    grpc::GenericStub stub(PlainChannel());
    grpc::CompletionQueue cq;
    grpc::ClientContext context;
    SetDeadline(&context);
    auto call = stub.PrepareCall(
        &context, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
    auto step = [&cq](auto start, intptr_t tag) {
      start(reinterpret_cast<void*>(tag));
      void* got = nullptr;
      bool ok = false;
      return cq.Next(&got, &ok) && got == reinterpret_cast<void*>(tag) && ok;
    };
    grpc::ByteBuffer request = FromBytes(request_bytes);
    grpc::ByteBuffer response;
    grpc::Status status;
    bool read = false;
    if (step([&](void* tag) { call->StartCall(tag); }, 1) &&
        step([&](void* tag) { call->Write(request, tag); }, 2) &&
        step([&](void* tag) { call->WritesDone(tag); }, 3)) {
      read = step([&](void* tag) { call->Read(&response, tag); }, 4);
    }
    step([&](void* tag) { call->Finish(&status, tag); }, 5);
    cq.Shutdown();
    if (status.ok() && !read) return grpc::Status(grpc::StatusCode::INTERNAL, "no response");
    *response_bytes = ToBytes(response);
    return status;
  }

  fs::path dir_;
  std::unique_ptr<CoordinatorServer> server_;
};

TEST_F(TransportTest, HealthCheckingServesTheServerAndBothServices) {
  StartServer();
  for (const std::string service : {"", "flopwise.v1.UserService", "flopwise.v1.WorkerService"}) {
    uint64_t serving = 0;
    const grpc::Status status = HealthCheck(service, &serving);
    ASSERT_TRUE(status.ok()) << "'" << service << "': " << status.error_message();
    EXPECT_EQ(serving, 1u) << "'" << service << "'";  // SERVING
  }
  uint64_t serving = 0;
  EXPECT_EQ(HealthCheck("flopwise.v1.NoSuchService", &serving).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(TransportTest, ReflectionListsTheServicesAndServesTheirDescriptors) {
  StartServer();
  // ServerReflectionRequest{list_services = 7: "*"} ->
  // ServerReflectionResponse{list_services_response = 6: {service = 1: {name = 1}}}.
  std::string response;
  grpc::Status status = Reflect(LengthDelimited(7, "*"), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::set<std::string> services;
  for (const std::string& list : Bytes(response, 6)) {
    for (const std::string& service : Bytes(list, 1)) {
      for (const std::string& name : Bytes(service, 1)) services.insert(name);
    }
  }
  EXPECT_TRUE(services.contains("flopwise.v1.UserService"));
  EXPECT_TRUE(services.contains("flopwise.v1.WorkerService"));
  EXPECT_TRUE(services.contains("grpc.reflection.v1alpha.ServerReflection"));

  // ServerReflectionRequest{file_containing_symbol = 4} ->
  // {file_descriptor_response = 4: {file_descriptor_proto = 1 (bytes)}}.
  status = Reflect(LengthDelimited(4, "flopwise.v1.WorkerService"), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::set<std::string> files;
  bool has_acquire_run = false;
  for (const std::string& descriptors : Bytes(response, 4)) {
    for (const std::string& bytes : Bytes(descriptors, 1)) {
      google::protobuf::FileDescriptorProto file;
      ASSERT_TRUE(file.ParseFromString(bytes));
      files.insert(file.name());
      for (const auto& service : file.service()) {
        for (const auto& method : service.method()) {
          has_acquire_run |= service.name() == "WorkerService" && method.name() == "AcquireRun";
        }
      }
    }
  }
  EXPECT_TRUE(files.contains("flopwise/v1/worker_service.proto"));
  EXPECT_TRUE(has_acquire_run);
}

// A CA and a server certificate for 127.0.0.1 and localhost, made by openssl.
class TlsTest : public TransportTest {
 protected:
  void SetUp() override {
    TransportTest::SetUp();
    if (std::system("openssl version > /dev/null 2>&1") != 0) {
      GTEST_SKIP() << "the openssl command is not installed";
    }
    const std::string d = dir_.string();
    std::ofstream(d + "/server.ext") << "subjectAltName = IP:127.0.0.1, DNS:localhost\n"
                                        "basicConstraints = CA:FALSE\n"
                                        "keyUsage = digitalSignature, keyEncipherment\n"
                                        "extendedKeyUsage = serverAuth\n";
    const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    const std::string commands =
        "cd '" + d + "' && openssl req -x509" + ec +
        " -keyout ca.key -out ca.crt -days 2 -subj '/CN=flopwise test CA'"
        " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign,cRLSign"
        " && openssl req" +
        ec +
        " -keyout server.key -out server.csr -subj '/CN=localhost'"
        " && openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial"
        " -out server.crt -days 2 -extfile server.ext > openssl.log 2>&1";
    ASSERT_EQ(std::system(commands.c_str()), 0) << "openssl failed in " << d;
  }

  // ListSweeps through the CLI's channel code: the status code.
  grpc::StatusCode ListSweeps(const client::ConnectOptions& options) {
    auto stub = v1::UserService::NewStub(client::MakeChannel(options));
    grpc::ClientContext context;
    client::PrepareContext(&context, kClientToken, 5'000);
    v1::ListSweepsResponse response;
    return stub->ListSweeps(&context, v1::ListSweepsRequest(), &response).error_code();
  }
};

TEST_F(TlsTest, ServesTlsFromCertificateFiles) {
  StartServer((dir_ / "server.crt").string(), (dir_ / "server.key").string());
  std::ifstream ca_file(dir_ / "ca.crt");
  std::string ca((std::istreambuf_iterator<char>(ca_file)), std::istreambuf_iterator<char>());
  ASSERT_FALSE(ca.empty());
  client::ConnectOptions options;
  options.coordinator = Address();
  options.tls = true;
  options.tls_ca_pem = ca;
  EXPECT_EQ(ListSweeps(options), grpc::StatusCode::OK);

  options.tls = false;  // plaintext to a TLS port
  EXPECT_EQ(ListSweeps(options), grpc::StatusCode::UNAVAILABLE);
  options.tls = true;  // TLS, but the system's roots do not know the test CA
  options.tls_ca_pem.clear();
  EXPECT_EQ(ListSweeps(options), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsTest, MissingCertificateFileIsNamed) {
  CoordinatorOptions options;
  options.listen = "127.0.0.1:0";
  options.db_path = (dir_ / "coordinator.db").string();
  options.client_token = kClientToken;
  options.worker_token = kWorkerToken;
  options.tls_cert_path = (dir_ / "missing.crt").string();
  options.tls_key_path = (dir_ / "server.key").string();
  auto server = CoordinatorServer::Start(options);
  ASSERT_FALSE(server.ok());
  EXPECT_NE(server.status().message().find("tls-cert"), std::string::npos) << server.status();
}

// A bad key or certificate is reported as itself, not as a failure to listen.
TEST_F(TlsTest, BadCertificateOrKeyIsNamedBeforeListening) {
  auto start = [&](const std::string& cert, const std::string& key) {
    CoordinatorOptions options;
    options.listen = "127.0.0.1:0";
    options.db_path = (dir_ / "coordinator.db").string();
    options.client_token = kClientToken;
    options.worker_token = kWorkerToken;
    options.tls_cert_path = (dir_ / cert).string();
    options.tls_key_path = (dir_ / key).string();
    return std::string(CoordinatorServer::Start(options).status().message());
  };
  std::ofstream(dir_ / "garbage.pem") << "not a pem file\n";
  const std::string not_pem = start("garbage.pem", "server.key");
  EXPECT_NE(not_pem.find("tls-cert"), std::string::npos) << not_pem;
  EXPECT_NE(not_pem.find("no PEM certificate"), std::string::npos) << not_pem;
  const std::string bad_key = start("server.crt", "garbage.pem");
  EXPECT_NE(bad_key.find("tls-key"), std::string::npos) << bad_key;
  const std::string mismatch = start("server.crt", "ca.key");
  EXPECT_NE(mismatch.find("is not the key of the certificate"), std::string::npos) << mismatch;
  EXPECT_EQ(mismatch.find("listen"), std::string::npos) << mismatch;
}

TEST_F(TransportTest, ListenPortOutOfRangeIsRefused) {
  for (const std::string listen : {"127.0.0.1:99999", "127.0.0.1", "127.0.0.1:-1", "::1:80"}) {
    CoordinatorOptions options;
    options.listen = listen;
    options.db_path = (dir_ / "coordinator.db").string();
    options.client_token = kClientToken;
    options.worker_token = kWorkerToken;
    const absl::Status status = ValidateOptions(options);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << listen;
    EXPECT_NE(status.message().find("listen"), std::string::npos) << status;
  }
  CoordinatorOptions options;
  options.db_path = "x.db";
  options.client_token = kClientToken;
  options.worker_token = kWorkerToken;
  for (const std::string listen : {"127.0.0.1:0", "[::1]:65535", "localhost:7450"}) {
    options.listen = listen;
    EXPECT_TRUE(ValidateOptions(options).ok()) << listen << ": " << ValidateOptions(options);
  }
}

}  // namespace
}  // namespace flopwise::server
