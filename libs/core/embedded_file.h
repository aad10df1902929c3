// A file carried inside the binary (switchboard_embed_files in cmake/Switchboard.cmake): its
// path relative to the embedded folder and its bytes.
#pragma once

#include <string_view>
#include <vector>

namespace switchboard {

struct EmbeddedFile {
  std::string_view path;
  std::string_view body;
};

}  // namespace switchboard
