# SPDX-License-Identifier: MIT
# `cmake --install`: the headers (same <agentrace/...> spelling as in the build tree), the
# agentrace::agentrace target with a package config that re-finds the dependencies, a version
# file, and agentrace.pc. Header-only, everything is architecture-independent and goes under
# share/; with AGENTRACE_COMPILED_LIB the library goes to lib/ and the version file checks the
# architecture. The build tree is exported too: find_package(agentrace) works with
# agentrace_DIR=<build>.
include(CMakePackageConfigHelpers)

set(AGENTRACE_INSTALL_CMAKEDIR ${CMAKE_INSTALL_DATADIR}/cmake/agentrace CACHE STRING
    "Where agentraceConfig.cmake is installed (relative to the prefix)")
set(AGENTRACE_INSTALL_PKGCONFIGDIR ${CMAKE_INSTALL_DATADIR}/pkgconfig CACHE STRING
    "Where agentrace.pc is installed (relative to the prefix)")

# The headers the targets use: include/ (or single_include/ with AGENTRACE_SINGLE_HEADER).
install(DIRECTORY ${_agentrace_inc}/agentrace DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.hpp")

install(TARGETS agentrace EXPORT agentraceTargets)
install(EXPORT agentraceTargets NAMESPACE agentrace:: DESTINATION ${AGENTRACE_INSTALL_CMAKEDIR})
export(EXPORT agentraceTargets NAMESPACE agentrace::
       FILE ${PROJECT_BINARY_DIR}/agentraceTargets.cmake)

# One config file serves both trees: it only refers to files beside itself.
configure_package_config_file(cmake/agentraceConfig.cmake.in
  ${PROJECT_BINARY_DIR}/agentraceConfig.cmake
  INSTALL_DESTINATION ${AGENTRACE_INSTALL_CMAKEDIR})
# 0.x: a new minor version may break the API, so only the same minor version is compatible.
if(AGENTRACE_COMPILED_LIB)
  set(_agentrace_arch)
else()
  set(_agentrace_arch ARCH_INDEPENDENT)
endif()
write_basic_package_version_file(${PROJECT_BINARY_DIR}/agentraceConfigVersion.cmake
  COMPATIBILITY SameMinorVersion ${_agentrace_arch})
install(FILES ${PROJECT_BINARY_DIR}/agentraceConfig.cmake
              ${PROJECT_BINARY_DIR}/agentraceConfigVersion.cmake
        DESTINATION ${AGENTRACE_INSTALL_CMAKEDIR})

# pkg-config: prefix relative to the .pc file so that the installed tree can be moved.
if(AGENTRACE_ENABLED)
  set(AGENTRACE_PC_ENABLED 1)
else()
  set(AGENTRACE_PC_ENABLED 0)
endif()
set(AGENTRACE_PC_CQ_CFLAGS "")
if(NOT AGENTRACE_CONCURRENTQUEUE_INCLUDE_DIR IN_LIST CMAKE_CXX_IMPLICIT_INCLUDE_DIRECTORIES)
  set(AGENTRACE_PC_CQ_CFLAGS " -I${AGENTRACE_CONCURRENTQUEUE_INCLUDE_DIR}")
endif()
# Compiled mode: the library, its macro and (static, with OTLP/HTTP) what it links.
set(AGENTRACE_PC_COMPILED_CFLAGS "")
set(AGENTRACE_PC_COMPILED_LIBS "")
set(AGENTRACE_PC_COMPILED_REQUIRES "")
if(AGENTRACE_COMPILED_LIB)
  set(AGENTRACE_PC_COMPILED_CFLAGS " -DAGENTRACE_COMPILED_LIB")
  set(AGENTRACE_PC_COMPILED_LIBS " -L\${libdir} -lagentrace")
  if(AGENTRACE_HAVE_HTTP AND NOT BUILD_SHARED_LIBS)
    set(AGENTRACE_PC_COMPILED_REQUIRES " libcurl zlib")
  endif()
endif()
file(RELATIVE_PATH AGENTRACE_PC_TO_PREFIX
     ${CMAKE_INSTALL_PREFIX}/${AGENTRACE_INSTALL_PKGCONFIGDIR} ${CMAKE_INSTALL_PREFIX})
string(REGEX REPLACE "/$" "" AGENTRACE_PC_TO_PREFIX "${AGENTRACE_PC_TO_PREFIX}")
configure_file(cmake/agentrace.pc.in ${PROJECT_BINARY_DIR}/agentrace.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/agentrace.pc DESTINATION ${AGENTRACE_INSTALL_PKGCONFIGDIR})
