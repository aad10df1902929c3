#include "libs/api/events.h"

#include "libs/core/proto_time.h"

namespace switchboard::api {

events::v1::EventHeader Header(absl::string_view tenant, absl::string_view entity, int64_t sequence,
                               absl::Time occurred, absl::string_view correlation_id,
                               absl::string_view causation_id) {
  events::v1::EventHeader h;
  h.set_tenant_id(std::string(tenant));
  h.set_entity_id(std::string(entity));
  h.set_sequence(sequence);
  *h.mutable_occurred_time() = core::ToProto(occurred);
  h.set_correlation_id(std::string(correlation_id));
  h.set_causation_id(std::string(causation_id));
  return h;
}

}  // namespace switchboard::api
