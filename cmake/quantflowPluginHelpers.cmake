# quantflow_add_plugin(<name> SOURCES <files...> [LIBRARIES <libs...>] [INSTALL_DIR <dir>])
#
# Builds <name>.so, a quantflow plugin, from an out-of-tree project after
# find_package(quantflow CONFIG). The plugin sees only the SDK headers (quantflow::sdk) and
# exports only its descriptor function: everything else is hidden, and an undefined symbol is
# a link error here rather than a load failure later. `cmake --install` puts it into
# <prefix>/lib/quantflow/plugins (or INSTALL_DIR): with the prefix quantflow was installed to,
# bin/quantflow finds it without QUANTFLOW_PLUGIN_PATH.
#
# The bundled plugins use cmake/QuantflowPlugin.cmake in the source tree instead.
function(quantflow_add_plugin name)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "" "INSTALL_DIR" "SOURCES;LIBRARIES")
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "quantflow_add_plugin(${name}): unknown arguments ${ARG_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "quantflow_add_plugin(${name}): no SOURCES")
  endif()
  if(NOT ARG_INSTALL_DIR)
    set(ARG_INSTALL_DIR ${QUANTFLOW_PLUGIN_INSTALL_SUBDIR})
  endif()
  add_library(${name} MODULE ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE quantflow::sdk ${ARG_LIBRARIES})
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  # quantflow promises identical bytes on every machine; fused multiply-adds would make a
  # codec's output depend on the compiler's choices.
  target_compile_options(${name} PRIVATE -ffp-contract=off)
  target_link_options(${name} PRIVATE -Wl,--no-undefined)
  install(TARGETS ${name} LIBRARY DESTINATION ${ARG_INSTALL_DIR})
endfunction()
