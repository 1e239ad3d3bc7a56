# quantflow_add_plugin(<name> SOURCES <files...> [LIBRARIES <libs...>])
# Builds one runtime-loaded plugin. A plugin sees only the public SDK headers.
function(quantflow_add_plugin name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBRARIES" ${ARGN})
  set(target quantflow-${name})
  add_library(${target} MODULE ${ARG_SOURCES})
  target_link_libraries(${target} PRIVATE quantflow::sdk ${ARG_LIBRARIES})
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    OUTPUT_NAME ${target}
    LIBRARY_OUTPUT_DIRECTORY ${QUANTFLOW_PLUGIN_OUTPUT_DIR}
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
  target_link_options(${target} PRIVATE -Wl,--no-undefined)
  set_property(GLOBAL APPEND PROPERTY QUANTFLOW_PLUGIN_TARGETS ${target})
  install(TARGETS ${target} LIBRARY DESTINATION ${QUANTFLOW_PLUGIN_SUBDIR})
endfunction()

# A codec folder holding exactly one <folder>.cpp needs only: quantflow_add_codec(). Bundled
# codecs also get the private codec kit (plugins/codec_kit).
function(quantflow_add_codec)
  get_filename_component(folder ${CMAKE_CURRENT_SOURCE_DIR} NAME)
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  if(NOT sources)
    message(WARNING "plugins/codecs/${folder} has no .cpp file yet; skipped")
    return()
  endif()
  quantflow_add_plugin(codec-${folder} SOURCES ${sources} LIBRARIES quantflow::codec_kit ${ARGN})
endfunction()

# A transcoder folder (plugins/transcoders/<family>/, quantflow/transcoder.hpp) needs only:
# quantflow_add_transcoder(). Every .cpp in it is built into one plugin with the codec kit.
function(quantflow_add_transcoder)
  get_filename_component(folder ${CMAKE_CURRENT_SOURCE_DIR} NAME)
  file(GLOB sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cpp)
  quantflow_add_plugin(transcoder-${folder} SOURCES ${sources} LIBRARIES quantflow::codec_kit)
endfunction()
