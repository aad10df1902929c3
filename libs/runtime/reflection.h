// gRPC server reflection v1 (grpc.reflection.v1.ServerReflection), served beside the v1alpha
// the gRPC library brings, so grpcurl, grpcui and reflection clients asking for v1 find every
// service, method and message, grpc.health.v1.Health included. Answers come from the
// process's generated descriptor pool; `Answer` is the pure part.
//
//   ReflectionService reflection({"switchboard.calls.v1.CallsService", ...});
//   builder.RegisterService(&reflection);
#pragma once

#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "google/protobuf/descriptor.h"
#include "grpc/reflection/v1/reflection.grpc.pb.h"

namespace switchboard::runtime {

// The answer to one request. `services`: what list_services names. `sent`: the files this
// stream already carried (a file and its dependencies go once per stream, as reflection
// clients expect); updated.
grpc::reflection::v1::ServerReflectionResponse Answer(
    const google::protobuf::DescriptorPool& pool, const std::vector<std::string>& services,
    const grpc::reflection::v1::ServerReflectionRequest& request,
    absl::flat_hash_set<std::string>& sent);

class ReflectionService final : public grpc::reflection::v1::ServerReflection::CallbackService {
 public:
  // `services`: the fully qualified services the server serves (health and reflection are
  // added).
  explicit ReflectionService(std::vector<std::string> services);

  grpc::ServerBidiReactor<grpc::reflection::v1::ServerReflectionRequest,
                          grpc::reflection::v1::ServerReflectionResponse>*
  ServerReflectionInfo(grpc::CallbackServerContext* context) override;

 private:
  std::vector<std::string> services_;
};

}  // namespace switchboard::runtime
