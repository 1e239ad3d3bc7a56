# What `cmake --install BUILD --prefix P` puts under P, beside the executable and the bundled
# plugins (installed by their own targets into bin/ and lib/quantflow/plugins/):
#   include/quantflow/*.hpp             the SDK headers (not the bundled codecs' numeric kit)
#   share/quantflow/configs/            presets and example recipes, found relative to bin/quantflow
#   share/quantflow/examples/           out-of-tree plugin projects to start from (docs/plugins.md)
#   lib/cmake/quantflow/                find_package(quantflow CONFIG): quantflow::sdk,
#                                       quantflow::quantflow and quantflow_add_plugin()
#   lib/pkgconfig/quantflow.pc          the same SDK for builds without CMake
# Every installed file names paths relative to its own location, so the tree can be moved.
include(CMakePackageConfigHelpers)

set(QUANTFLOW_INCLUDE_INSTALL_DIR include)
set(QUANTFLOW_CMAKE_INSTALL_DIR lib/cmake/quantflow)

# quantflow/numeric/ holds the bundled codecs' shared math, which is no part of the SDK.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/framework/include/quantflow DESTINATION ${QUANTFLOW_INCLUDE_INSTALL_DIR}
        FILES_MATCHING PATTERN "*.hpp" PATTERN "numeric" EXCLUDE)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/configs/ DESTINATION share/quantflow/configs)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/examples/ DESTINATION share/quantflow/examples)

install(EXPORT quantflowTargets NAMESPACE quantflow:: DESTINATION ${QUANTFLOW_CMAKE_INSTALL_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/quantflowConfig.cmake.in
  ${PROJECT_BINARY_DIR}/package/quantflowConfig.cmake
  INSTALL_DESTINATION ${QUANTFLOW_CMAKE_INSTALL_DIR}
  PATH_VARS QUANTFLOW_INCLUDE_INSTALL_DIR QUANTFLOW_PLUGIN_SUBDIR)
# Plugins are C++ code compiled against these headers: while the major version is 0, a minor
# release may change the plugin ABI, so only the same major.minor is accepted.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/package/quantflowConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/package/quantflowConfig.cmake
              ${PROJECT_BINARY_DIR}/package/quantflowConfigVersion.cmake
              ${PROJECT_SOURCE_DIR}/cmake/quantflowPluginHelpers.cmake
        DESTINATION ${QUANTFLOW_CMAKE_INSTALL_DIR})

configure_file(${PROJECT_SOURCE_DIR}/cmake/quantflow.pc.in ${PROJECT_BINARY_DIR}/package/quantflow.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/package/quantflow.pc DESTINATION lib/pkgconfig)
