// The secrets Switchboard holds for Meta: each Meta app's secret (signs webhooks) and verify
// token (the subscription handshake), and the access token of each business number (Graph API
// calls). They come from flags/environment (one default app and token) and an optional JSON
// file (a mounted Kubernetes secret), never from the database, and are never logged.
//
//   {"apps": [{"id": "123", "app_secret": "...", "verify_token": "..."}],
//    "access_tokens": {"106540352242922": "EAAG..."}}
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace switchboard::whatsapp {

struct MetaApp {
  std::string id;  // "" is the default app (--meta-app-secret / --meta-verify-token)
  std::string app_secret;
  std::string verify_token;
};

class Credentials {
 public:
  // `file` may be empty. INVALID_ARGUMENT CREDENTIALS_FILE_INVALID names what is wrong (never
  // a secret); an app without a secret or two apps with one id are refused.
  static absl::StatusOr<Credentials> Load(const std::string& file,
                                          const std::string& default_app_secret,
                                          const std::string& default_verify_token,
                                          const std::string& default_access_token);
  // Parses the file's JSON content (Load reads the file and calls this).
  static absl::StatusOr<Credentials> Parse(absl::string_view json,
                                           const std::string& default_app_secret,
                                           const std::string& default_verify_token,
                                           const std::string& default_access_token);

  // nullptr when no such app is configured.
  const MetaApp* App(absl::string_view id) const;
  const std::vector<MetaApp>& apps() const { return apps_; }
  // The number's own token, else the default token, else nullopt.
  std::optional<std::string> AccessToken(absl::string_view phone_number_id) const;

 private:
  std::vector<MetaApp> apps_;
  std::map<std::string, std::string, std::less<>> access_tokens_;
  std::string default_access_token_;
};

}  // namespace switchboard::whatsapp
