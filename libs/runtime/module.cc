#include "libs/runtime/module.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/core/error.h"

namespace switchboard::runtime {

void Registry::Add(ModuleSpec spec) {
  std::string name = spec.name;
  specs_[name] = std::move(spec);
}

const ModuleSpec* Registry::Find(const std::string& name) const {
  auto it = specs_.find(name);
  return it == specs_.end() ? nullptr : &it->second;
}

std::vector<FlagSpec> Registry::Flags() const {
  std::vector<FlagSpec> flags;
  std::set<std::string> seen;
  for (const auto& [name, spec] : specs_) {
    for (const FlagSpec& f : spec.flags) {
      if (seen.insert(f.name).second) flags.push_back(f);
    }
  }
  std::set<std::string> reachable;
  for (const auto& [name, spec] : specs_) {
    if (spec.target) reachable.insert(name);
    reachable.insert(spec.peers.begin(), spec.peers.end());
  }
  for (const std::string& name : reachable) {
    std::string flag = absl::StrCat(name, "-address");
    if (!seen.insert(flag).second) continue;
    flags.push_back(AddressFlag(
        flag, absl::StrCat("host:port where the other targets reach ", name,
                           " when it does not run in this process; empty: this process")));
  }
  return flags;
}

std::vector<std::string> Registry::TargetNames() const {
  std::vector<std::string> names;
  for (const auto& [name, spec] : specs_) {
    if (spec.target) names.push_back(name);
  }
  return names;
}

absl::StatusOr<std::vector<const ModuleSpec*>> Registry::Resolve(
    const std::vector<std::string>& targets) const {
  std::vector<std::string> wanted;
  for (const auto& t : targets) {
    if (t == "all") {
      for (const auto& n : TargetNames()) wanted.push_back(n);
      continue;
    }
    const ModuleSpec* spec = Find(t);
    if (spec == nullptr || !spec->target) {
      return core::InvalidArgument("UNKNOWN_TARGET",
                                   absl::StrCat("unknown target '", t, "' (known: all, ",
                                                absl::StrJoin(TargetNames(), ", "), ")"),
                                   {{"target", t}});
    }
    wanted.push_back(t);
  }
  std::vector<const ModuleSpec*> order;
  std::set<std::string> done;
  std::set<std::string> visiting;
  std::function<absl::Status(const std::string&)> visit =
      [&](const std::string& name) -> absl::Status {
    if (done.count(name)) return absl::OkStatus();
    if (visiting.count(name)) {
      return core::InvalidArgument("DEPENDENCY_CYCLE", absl::StrCat("dependency cycle at ", name));
    }
    const ModuleSpec* spec = Find(name);
    if (spec == nullptr) {
      return core::InvalidArgument("UNKNOWN_MODULE", absl::StrCat("unknown module '", name, "'"));
    }
    visiting.insert(name);
    for (const auto& d : spec->deps) {
      if (absl::Status s = visit(d); !s.ok()) return s;
    }
    visiting.erase(name);
    done.insert(name);
    order.push_back(spec);
    return absl::OkStatus();
  };
  for (const auto& t : wanted) {
    if (absl::Status s = visit(t); !s.ok()) return s;
  }
  return order;
}

}  // namespace switchboard::runtime
