# Script mode (cmake -P), run at build time by switchboard_embed_files(): writes OUT, a C++
# source defining `const std::vector<switchboard::EmbeddedFile>& NAMESPACE::FUNCTION()` with
# every file under DIR as a raw string literal, paths relative to DIR.
file(GLOB_RECURSE files ${DIR}/*)
list(SORT files)
set(entries "")
foreach(f ${files})
  file(RELATIVE_PATH name ${DIR} ${f})
  file(READ ${f} content)
  string(FIND "${content}" ")sbfile\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${f} contains the embedding delimiter )sbfile\"")
  endif()
  string(APPEND entries "      {\"${name}\", R\"sbfile(${content})sbfile\"},\n")
endforeach()
file(WRITE ${OUT} "// Generated from ${DIR} by switchboard_embed_files().
#include \"libs/core/embedded_file.h\"

namespace ${NAMESPACE} {

const std::vector<switchboard::EmbeddedFile>& ${FUNCTION}() {
  static const auto* files = new std::vector<switchboard::EmbeddedFile>{
${entries}  };
  return *files;
}

}  // namespace ${NAMESPACE}
")
