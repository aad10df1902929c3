#include "libs/runtime/reflection.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "google/protobuf/descriptor.pb.h"
#include "grpc/health/v1/health.pb.h"

namespace switchboard::runtime {
namespace {

namespace v1 = grpc::reflection::v1;
using google::protobuf::Descriptor;
using google::protobuf::DescriptorPool;
using google::protobuf::FieldDescriptor;
using google::protobuf::FileDescriptor;

constexpr int kNotFound = 5;         // google.rpc.Code
constexpr int kInvalidArgument = 3;  // google.rpc.Code

// `file` and the dependencies this stream has not carried yet, dependencies first.
void AddFile(const FileDescriptor* file, absl::flat_hash_set<std::string>& sent,
             v1::FileDescriptorResponse* out) {
  if (!sent.insert(file->name()).second) return;
  for (int i = 0; i < file->dependency_count(); ++i) AddFile(file->dependency(i), sent, out);
  google::protobuf::FileDescriptorProto proto;
  file->CopyTo(&proto);
  proto.SerializeToString(out->add_file_descriptor_proto());
}

void NotFound(v1::ServerReflectionResponse& resp, absl::string_view what) {
  resp.mutable_error_response()->set_error_code(kNotFound);
  resp.mutable_error_response()->set_error_message(std::string(what));
}

// A file's answer: with every dependency when the stream has carried nothing of it (a fresh
// client), else what it lacks; the file itself always, as clients index the answer by it.
void FileAnswer(const FileDescriptor* file, absl::flat_hash_set<std::string>& sent,
                v1::ServerReflectionResponse& resp) {
  sent.erase(file->name());
  AddFile(file, sent, resp.mutable_file_descriptor_response());
}

}  // namespace

v1::ServerReflectionResponse Answer(const DescriptorPool& pool,
                                    const std::vector<std::string>& services,
                                    const v1::ServerReflectionRequest& request,
                                    absl::flat_hash_set<std::string>& sent) {
  v1::ServerReflectionResponse resp;
  resp.set_valid_host(request.host());
  *resp.mutable_original_request() = request;
  switch (request.message_request_case()) {
    case v1::ServerReflectionRequest::kListServices:
      for (const std::string& name : services) {
        resp.mutable_list_services_response()->add_service()->set_name(name);
      }
      break;
    case v1::ServerReflectionRequest::kFileByFilename: {
      const FileDescriptor* file = pool.FindFileByName(request.file_by_filename());
      if (file == nullptr) {
        NotFound(resp, absl::StrCat("no file ", request.file_by_filename()));
      } else {
        FileAnswer(file, sent, resp);
      }
      break;
    }
    case v1::ServerReflectionRequest::kFileContainingSymbol: {
      const FileDescriptor* file = pool.FindFileContainingSymbol(request.file_containing_symbol());
      if (file == nullptr) {
        NotFound(resp, absl::StrCat("no symbol ", request.file_containing_symbol()));
      } else {
        FileAnswer(file, sent, resp);
      }
      break;
    }
    case v1::ServerReflectionRequest::kFileContainingExtension: {
      const auto& ext = request.file_containing_extension();
      const Descriptor* type = pool.FindMessageTypeByName(ext.containing_type());
      const FieldDescriptor* field =
          type == nullptr ? nullptr : pool.FindExtensionByNumber(type, ext.extension_number());
      if (field == nullptr) {
        NotFound(resp, absl::StrCat("no extension ", ext.extension_number(), " of ",
                                    ext.containing_type()));
      } else {
        FileAnswer(field->file(), sent, resp);
      }
      break;
    }
    case v1::ServerReflectionRequest::kAllExtensionNumbersOfType: {
      const Descriptor* type = pool.FindMessageTypeByName(request.all_extension_numbers_of_type());
      if (type == nullptr) {
        NotFound(resp, absl::StrCat("no type ", request.all_extension_numbers_of_type()));
        break;
      }
      std::vector<const FieldDescriptor*> extensions;
      pool.FindAllExtensions(type, &extensions);
      std::vector<int> numbers;
      for (const FieldDescriptor* f : extensions) numbers.push_back(f->number());
      std::sort(numbers.begin(), numbers.end());
      auto* out = resp.mutable_all_extension_numbers_response();
      out->set_base_type_name(type->full_name());
      for (int n : numbers) out->add_extension_number(n);
      break;
    }
    case v1::ServerReflectionRequest::MESSAGE_REQUEST_NOT_SET:
      resp.mutable_error_response()->set_error_code(kInvalidArgument);
      resp.mutable_error_response()->set_error_message("the request names nothing to look up");
      break;
  }
  return resp;
}

ReflectionService::ReflectionService(std::vector<std::string> services) {
  // The health service is gRPC's own; its descriptors come from our copy of its contract,
  // linked here so that lookups of grpc.health.v1.Health find them.
  (void)grpc::health::v1::HealthCheckRequest::descriptor();
  // Only protobuf services: the health names of targets ("calls") are no symbol a tool could
  // describe, and `grpcurl list` would offer them.
  for (std::string& name : services) {
    if (DescriptorPool::generated_pool()->FindServiceByName(name) != nullptr) {
      services_.push_back(std::move(name));
    }
  }
  for (const char* extra : {"grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection",
                            "grpc.reflection.v1alpha.ServerReflection"}) {
    if (std::find(services_.begin(), services_.end(), extra) == services_.end()) {
      services_.push_back(extra);
    }
  }
  std::sort(services_.begin(), services_.end());
}

grpc::ServerBidiReactor<v1::ServerReflectionRequest, v1::ServerReflectionResponse>*
ReflectionService::ServerReflectionInfo(grpc::CallbackServerContext* /*context*/) {
  // Reads a request, writes its answer, reads the next; done when the client closes.
  class Reactor final
      : public grpc::ServerBidiReactor<v1::ServerReflectionRequest, v1::ServerReflectionResponse> {
   public:
    explicit Reactor(const std::vector<std::string>& services) : services_(services) {
      StartRead(&request_);
    }
    void OnReadDone(bool ok) override {
      if (!ok) {
        Finish(grpc::Status::OK);
        return;
      }
      response_ = Answer(*DescriptorPool::generated_pool(), services_, request_, sent_);
      StartWrite(&response_);
    }
    void OnWriteDone(bool ok) override {
      if (!ok) {
        Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the client went away"));
        return;
      }
      StartRead(&request_);
    }
    void OnDone() override { delete this; }

   private:
    const std::vector<std::string>& services_;
    v1::ServerReflectionRequest request_;
    v1::ServerReflectionResponse response_;
    absl::flat_hash_set<std::string> sent_;
  };
  return new Reactor(services_);
}

}  // namespace switchboard::runtime
