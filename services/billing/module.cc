#include "services/billing/module.h"

#include "libs/core/status_macros.h"
#include "libs/runtime/service_module.h"
#include "services/billing/invoices.h"
#include "services/billing/ledger.h"
#include "services/billing/plans.h"
#include "services/billing/probe.h"
#include "services/billing/service.h"
#include "services/billing/store/store.h"
#include "services/billing/usage.h"
#include "switchboard/calls/v1/calls_events.pb.h"

namespace switchboard::billing {
namespace {

// How often months that ended are looked for: the lateness of an invoice.
constexpr absl::Duration kInvoiceInterval = absl::Seconds(5);
// Ended calls rated per transaction, at most (what the consumer has already fetched).
constexpr int kRatingBatch = 500;

class Module final : public runtime::ServiceModule {
 public:
  absl::Status Init(runtime::Context& ctx) override {
    RETURN_IF_ERROR(InitStore(ctx, "billing", Migrations()));
    probe_ = std::make_unique<billing::Probe>(ctx.metrics());
    plans_ = std::make_unique<Plans>(pool(), ctx.clock());
    invoices_ = std::make_unique<Invoices>(pool(), *plans_, ctx.clock());
    ledger_ = std::make_unique<Ledger>(pool(), *plans_, *invoices_, ctx.clock(), probe_.get());
    usage_ = std::make_unique<Usage>(pool(), *plans_, ctx.clock());
    service_ = std::make_unique<Service>(*plans_, *ledger_, *usage_, *invoices_);
    ctx.AddService(service_.get(), v1::BillingService::service_full_name());

    Ledger* ledger = ledger_.get();
    RETURN_IF_ERROR(Consume(
        ctx, "calls", kafka::kCallsState,
        kafka::Dispatch()
            .On<calls::v1::CallStateChanged>([ledger](const auto& e, const kafka::Message& m) {
              return ledger->OnCallStateChanged(e, m);
            })
            .OnBatch<calls::v1::CallStateChanged>(
                [ledger](const auto& batch) { return ledger->OnCallsEnded(batch); },
                kRatingBatch)));
    Every("invoices", kInvoiceInterval, [this] { return invoices_->IssueDue().status(); });
    Every("quarantine gauge", absl::Seconds(15), [this]() -> absl::Status {
      ASSIGN_OR_RETURN(int64_t waiting, store::CountQuarantine(pool()));
      probe_->Quarantined(waiting);
      return absl::OkStatus();
    });
    return absl::OkStatus();
  }

 private:
  std::unique_ptr<billing::Probe> probe_;  // qualified: Module has a Probe() of its own
  std::unique_ptr<Plans> plans_;
  std::unique_ptr<Invoices> invoices_;
  std::unique_ptr<Ledger> ledger_;
  std::unique_ptr<Usage> usage_;
  std::unique_ptr<Service> service_;
};

}  // namespace

void Register(runtime::Registry& registry) {
  registry.Add({.name = "billing", .deps = {"postgres", "kafka"}, .target = true, .factory = [] {
                  return std::make_unique<Module>();
                }});
}

}  // namespace switchboard::billing
