# SPDX-License-Identifier: MIT
# Documentation: every whole C++ program (a ```cpp block with `int main`) in README.md and docs/
# compiles with agentrace's include path and -Wall -Wextra -Wpedantic -Werror
# (scripts/doc_programs.py; the flags file is the one core.cmake writes for compile_fail).
# Not in sanitizer builds: the programs are compiled, not run, so a sanitizer adds nothing.
if(CMAKE_CXX_FLAGS MATCHES "-fsanitize=")
  return()
endif()
find_package(Python3 COMPONENTS Interpreter REQUIRED)
if(NOT DEFINED _cf_flags)
  message(FATAL_ERROR "tests/cmake/docs.cmake needs the compile flags file of core.cmake")
endif()
add_test(NAME docs_programs
  COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/scripts/doc_programs.py
          --compiler ${CMAKE_CXX_COMPILER} --flags-file ${_cf_flags}
          "--launcher=${CMAKE_CXX_COMPILER_LAUNCHER}" --work-dir ${CMAKE_CURRENT_BINARY_DIR}/doc_programs)
set_tests_properties(docs_programs PROPERTIES TIMEOUT 300 LABELS docs)
