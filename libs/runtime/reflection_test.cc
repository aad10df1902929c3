#include "libs/runtime/reflection.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <functional>

#include "google/protobuf/descriptor.pb.h"
#include "grpc/health/v1/health.pb.h"
#include "switchboard/api/v1/annotations.pb.h"
#include "switchboard/calls/v1/calls_service.pb.h"

namespace runtime = switchboard::runtime;
namespace v1 = grpc::reflection::v1;
using google::protobuf::DescriptorPool;

namespace {

v1::ServerReflectionResponse Ask(const v1::ServerReflectionRequest& req,
                                 absl::flat_hash_set<std::string>& sent) {
  // Linked, so the generated pool has them.
  (void)grpc::health::v1::HealthCheckRequest::descriptor();
  (void)switchboard::calls::v1::Call::descriptor();
  (void)switchboard::api::v1::roles;
  return runtime::Answer(*DescriptorPool::generated_pool(),
                         {"grpc.health.v1.Health", "switchboard.calls.v1.CallsService"}, req, sent);
}

std::vector<std::string> FileNames(const v1::ServerReflectionResponse& resp) {
  std::vector<std::string> names;
  for (const std::string& bytes : resp.file_descriptor_response().file_descriptor_proto()) {
    google::protobuf::FileDescriptorProto file;
    REQUIRE(file.ParseFromString(bytes));
    names.push_back(file.name());
  }
  return names;
}

}  // namespace

TEST_CASE("reflection v1: services, symbols (health included), files with their dependencies") {
  absl::flat_hash_set<std::string> sent;
  v1::ServerReflectionRequest list;
  list.set_host("localhost:50051");
  list.set_list_services("*");
  v1::ServerReflectionResponse services = Ask(list, sent);
  CHECK(services.valid_host() == "localhost:50051");
  CHECK(services.original_request().list_services() == "*");
  REQUIRE(services.list_services_response().service_size() == 2);
  CHECK(services.list_services_response().service(1).name() == "switchboard.calls.v1.CallsService");

  v1::ServerReflectionRequest health;
  health.set_file_containing_symbol("grpc.health.v1.Health");
  CHECK(FileNames(Ask(health, sent)) == std::vector<std::string>{"grpc/health/v1/health.proto"});

  // A method's file comes with what it imports, dependencies first; asked again on the same
  // stream, only the file itself.
  v1::ServerReflectionRequest method;
  method.set_file_containing_symbol("switchboard.calls.v1.CallsService.StartCall");
  std::vector<std::string> first = FileNames(Ask(method, sent));
  REQUIRE(first.size() > 3);
  CHECK(first.back() == "switchboard/calls/v1/calls_service.proto");
  CHECK(std::find(first.begin(), first.end(), "google/protobuf/timestamp.proto") != first.end());
  CHECK(FileNames(Ask(method, sent)) ==
        std::vector<std::string>{"switchboard/calls/v1/calls_service.proto"});

  v1::ServerReflectionRequest by_name;
  by_name.set_file_by_filename("grpc/health/v1/health.proto");
  CHECK(FileNames(Ask(by_name, sent)) == std::vector<std::string>{"grpc/health/v1/health.proto"});
}

TEST_CASE("reflection v1: extensions, and what does not exist is NOT_FOUND") {
  absl::flat_hash_set<std::string> sent;
  // The suite's method options (the roles each RPC admits) extend MethodOptions.
  v1::ServerReflectionRequest numbers;
  numbers.set_all_extension_numbers_of_type("google.protobuf.MethodOptions");
  v1::ServerReflectionResponse n = Ask(numbers, sent);
  CHECK(n.all_extension_numbers_response().base_type_name() == "google.protobuf.MethodOptions");
  const auto& listed = n.all_extension_numbers_response().extension_number();
  constexpr int roles = 51001;  // switchboard.api.v1.roles
  CHECK(std::find(listed.begin(), listed.end(), roles) != listed.end());
  v1::ServerReflectionRequest ext;
  ext.mutable_file_containing_extension()->set_containing_type("google.protobuf.MethodOptions");
  ext.mutable_file_containing_extension()->set_extension_number(roles);
  CHECK(FileNames(Ask(ext, sent)).back() == "switchboard/api/v1/annotations.proto");

  for (auto set : std::vector<std::function<void(v1::ServerReflectionRequest&)>>{
           [](auto& r) { r.set_file_containing_symbol("switchboard.nope.v1.Nothing"); },
           [](auto& r) { r.set_file_by_filename("nope.proto"); },
           [](auto& r) { r.set_all_extension_numbers_of_type("nope.Type"); },
           [](auto& r) {
             r.mutable_file_containing_extension()->set_containing_type(
                 "google.protobuf.MethodOptions");
             r.mutable_file_containing_extension()->set_extension_number(1);
           }}) {
    v1::ServerReflectionRequest req;
    set(req);
    v1::ServerReflectionResponse resp = Ask(req, sent);
    INFO(req.DebugString());
    CHECK(resp.error_response().error_code() == 5);
    CHECK_FALSE(resp.error_response().error_message().empty());
  }
  CHECK(Ask(v1::ServerReflectionRequest(), sent).error_response().error_code() == 3);
}
