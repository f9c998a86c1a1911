# SPDX-License-Identifier: MIT
# Packaging: the amalgamation script's own tests, the namespace-collision TU, and the consumer
# projects of docs/install.md: four ways to use the headers, one to use the compiled library
# (scripts/ci/consumers.sh; label `consumer`, each configures and builds a small project of its
# own in a temporary directory).
find_package(Python3 COMPONENTS Interpreter REQUIRED)

add_test(NAME amalgamate_py
  COMMAND ${Python3_EXECUTABLE} -m unittest discover -s ${PROJECT_SOURCE_DIR}/tests/tools
          -p "test_*.py")
set_tests_properties(amalgamate_py PROPERTIES TIMEOUT 120)

agentrace_add_test(namespace_collision_test
  ${PROJECT_SOURCE_DIR}/tests/packaging/namespace_collision_test.cpp)

foreach(_consumer docs single_header add_subdirectory find_package pkg_config compiled_lib)
  add_test(NAME consumer_${_consumer}
    COMMAND ${PROJECT_SOURCE_DIR}/scripts/ci/consumers.sh ${_consumer})
  set_tests_properties(consumer_${_consumer} PROPERTIES LABELS consumer TIMEOUT 600)
endforeach()
