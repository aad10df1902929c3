# Module helpers in the spirit of Redpanda's v_cc_library: each folder declares its name,
# sources and dependencies in one call.

set(SWITCHBOARD_WARNINGS -Wall -Wextra -Wpedantic -Wshadow=local -Wnon-virtual-dtor
    -Wno-missing-field-initializers)

# A precompiled header with the heavy third-party headers (gRPC, Protobuf, Abseil) for the
# targets that include them. Each such target builds its own copy: sharing one (REUSE_FROM)
# breaks whenever a dependency adds a define, and the copies are still far cheaper than parsing
# grpcpp.h in every file.
set(SWITCHBOARD_PCH_FILE ${CMAKE_CURRENT_LIST_DIR}/pch.h)
function(switchboard_pch target)
  target_link_libraries(${target} PRIVATE gRPC::grpc++ protobuf::libprotobuf)
  target_precompile_headers(${target} PRIVATE ${SWITCHBOARD_PCH_FILE})
endfunction()

function(switchboard_target_defaults target)
  target_compile_options(${target} PRIVATE ${SWITCHBOARD_WARNINGS})
  if(SWITCHBOARD_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# switchboard_library(NAME core SRCS a.cc DEPS absl::status [PCH])
function(switchboard_library)
  cmake_parse_arguments(ARG "PCH" "NAME" "SRCS;DEPS" ${ARGN})
  set(target sb_${ARG_NAME})
  add_library(${target} STATIC ${ARG_SRCS})
  add_library(switchboard::${ARG_NAME} ALIAS ${target})
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${target} PUBLIC ${ARG_DEPS})
  switchboard_target_defaults(${target})
  if(ARG_PCH)
    switchboard_pch(${target})
  endif()
endfunction()

# switchboard_test(NAME core_unit SRCS a_test.cc DEPS switchboard::core LABELS unit)
function(switchboard_test)
  cmake_parse_arguments(ARG "PCH" "NAME" "SRCS;DEPS;LABELS" ${ARGN})
  set(target ${ARG_NAME}_test)
  add_executable(${target} ${ARG_SRCS})
  target_link_libraries(${target} PRIVATE ${ARG_DEPS} switchboard::catch_main)
  switchboard_target_defaults(${target})
  if(ARG_PCH)
    switchboard_pch(${target})
  endif()
  add_test(NAME ${ARG_NAME} COMMAND ${target})
  set_tests_properties(${ARG_NAME} PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT 300)
endfunction()


# Embeds a service's versioned SQL files (NNNN_name.sql) into `target` as
# `std::vector<switchboard::pg::Migration> <namespace>::Migrations()`, so the binary carries its
# schema. Editing a file re-runs CMake.
function(switchboard_migrations target namespace dir)
  file(GLOB sql_files CONFIGURE_DEPENDS ${dir}/*.sql)
  list(SORT sql_files)
  set(entries "")
  foreach(f ${sql_files})
    get_filename_component(name ${f} NAME)
    if(NOT name MATCHES "^([0-9]+)_[a-z0-9_]+\\.sql$")
      message(FATAL_ERROR "migration ${f}: name it NNNN_what.sql")
    endif()
    math(EXPR version "${CMAKE_MATCH_1}")
    file(READ ${f} content)
    string(APPEND entries "      {${version}, \"${name}\", R\"sbsql(${content})sbsql\"},\n")
    set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${f})
  endforeach()
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${target}_migrations.cc)
  file(CONFIGURE OUTPUT ${out} CONTENT "// Generated from @dir@ by switchboard_migrations().
#include \"libs/pg/migrate.h\"

namespace @namespace@ {

std::vector<switchboard::pg::Migration> Migrations() {
  return {
@entries@  };
}

}  // namespace @namespace@
" @ONLY)
  target_sources(${target} PRIVATE ${out})
endfunction()

# Embeds the text files under `dir` into `target` as
# `const std::vector<switchboard::EmbeddedFile>& <namespace>::<function>()`, paths relative to
# `dir` ("index.html", "assets/app-3QX7.js"), so the binary serves them without an install
# folder. The files are made at build time by COMMAND (the console's bundle) from DEPENDS; the
# source file is written by cmake/embed_files.cmake after it.
#
#   switchboard_embed_files(sb_svc_gateway switchboard::gateway ConsoleFiles ${out}
#                           COMMAND node build.mjs --out=${out} DEPENDS ${inputs})
function(switchboard_embed_files target namespace function dir)
  cmake_parse_arguments(ARG "" "COMMENT" "COMMAND;DEPENDS" ${ARGN})
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${target}_${function}.cc)
  add_custom_command(OUTPUT ${out}
    COMMAND ${ARG_COMMAND}
    COMMAND ${CMAKE_COMMAND} -DDIR=${dir} -DOUT=${out} -DNAMESPACE=${namespace}
            -DFUNCTION=${function} -P ${PROJECT_SOURCE_DIR}/cmake/embed_files.cmake
    DEPENDS ${ARG_DEPENDS} ${PROJECT_SOURCE_DIR}/cmake/embed_files.cmake
    COMMENT "${ARG_COMMENT}"
    VERBATIM)
  target_sources(${target} PRIVATE ${out})
endfunction()
