#include "libs/whatsapp/credentials.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "libs/core/error.h"

namespace switchboard::whatsapp {
namespace {

absl::Status Bad(absl::string_view what) {
  return core::InvalidArgument("CREDENTIALS_FILE_INVALID",
                               absl::StrCat("meta credentials: ", what));
}

}  // namespace

absl::StatusOr<Credentials> Credentials::Load(const std::string& file,
                                              const std::string& default_app_secret,
                                              const std::string& default_verify_token,
                                              const std::string& default_access_token) {
  std::string content = "{}";
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in) return Bad(absl::StrCat("cannot read ", file));
    std::stringstream ss;
    ss << in.rdbuf();
    content = ss.str();
  }
  return Parse(content, default_app_secret, default_verify_token, default_access_token);
}

absl::StatusOr<Credentials> Credentials::Parse(absl::string_view json_text,
                                               const std::string& default_app_secret,
                                               const std::string& default_verify_token,
                                               const std::string& default_access_token) {
  using json = nlohmann::json;
  json root = json::parse(json_text.begin(), json_text.end(), nullptr, false);
  if (root.is_discarded() || !root.is_object()) return Bad("not a JSON object");
  Credentials out;
  out.default_access_token_ = default_access_token;
  if (!default_app_secret.empty()) {
    out.apps_.push_back(
        {.id = "", .app_secret = default_app_secret, .verify_token = default_verify_token});
  }
  if (auto it = root.find("apps"); it != root.end()) {
    if (!it->is_array()) return Bad("\"apps\" must be an array");
    for (const json& app : *it) {
      if (!app.is_object() || !app.contains("id") || !app["id"].is_string() ||
          !app.contains("app_secret") || !app["app_secret"].is_string()) {
        return Bad("each app needs string \"id\" and \"app_secret\"");
      }
      MetaApp a{.id = app["id"].get<std::string>(),
                .app_secret = app["app_secret"].get<std::string>(),
                .verify_token = app.value("verify_token", std::string())};
      if (a.id.empty())
        return Bad(
            "app ids in the file must not be empty (\"\" is the default app, set by "
            "--meta-app-secret)");
      if (a.app_secret.empty()) return Bad(absl::StrCat("app \"", a.id, "\" has an empty secret"));
      for (char c : a.id) {
        if (!(isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_')) {
          return Bad(absl::StrCat("app id \"", a.id, "\" must be [A-Za-z0-9_-]"));
        }
      }
      if (out.App(a.id) != nullptr) return Bad(absl::StrCat("app \"", a.id, "\" listed twice"));
      out.apps_.push_back(std::move(a));
    }
  }
  if (auto it = root.find("access_tokens"); it != root.end()) {
    if (!it->is_object()) return Bad("\"access_tokens\" must be an object");
    for (auto t = it->begin(); t != it->end(); ++t) {
      if (!t.value().is_string() || t.value().get<std::string>().empty()) {
        return Bad(absl::StrCat("access token of ", t.key(), " must be a non-empty string"));
      }
      out.access_tokens_[t.key()] = t.value().get<std::string>();
    }
  }
  return out;
}

const MetaApp* Credentials::App(absl::string_view id) const {
  for (const MetaApp& a : apps_) {
    if (a.id == id) return &a;
  }
  return nullptr;
}

std::optional<std::string> Credentials::AccessToken(absl::string_view phone_number_id) const {
  if (auto it = access_tokens_.find(phone_number_id); it != access_tokens_.end()) {
    return it->second;
  }
  if (!default_access_token_.empty()) return default_access_token_;
  return std::nullopt;
}

}  // namespace switchboard::whatsapp
