# SPDX-License-Identifier: MIT
# Tests of the core: spans, attributes, collector, exporters (OTLP-JSON, console, memory),
# configuration, clock, trace assembler, hot-path allocations, compile-fail snippets, and
# otlp-check validation of the OTLP-JSON the tests write.
set(_core_tests span attributes collector otlp_json console config memory trace_assembler clock
    record exporter text)
foreach(_t IN LISTS _core_tests)
  agentrace_add_test(${_t}_test ${CMAKE_CURRENT_SOURCE_DIR}/${_t}_test.cpp)
endforeach()

# Replaces the global operator new (and wraps malloc) to count the hot path's allocations.
# Not under a sanitizer: its runtime defines operator new and malloc itself (TSan's link fails
# with duplicate definitions), and counts taken through its allocator would mean nothing.
if(NOT CMAKE_CXX_FLAGS MATCHES "-fsanitize=")
  agentrace_add_test(alloc_test ${CMAKE_CURRENT_SOURCE_DIR}/alloc_test.cpp)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang" AND NOT APPLE)
    target_link_options(alloc_test PRIVATE "LINKER:--wrap=malloc,--wrap=calloc,--wrap=realloc")
    target_compile_definitions(alloc_test PRIVATE AGENTRACE_TEST_WRAP_MALLOC=1)
  endif()
endif()

# --- otlp-check: the [otlp-file] test cases write their OTLP-JSON into a fixed directory (a
# fixture), then one CTest test per file validates it. Skipped (exit 77, said on the output)
# only when node is not installed.
set(_otlp_dir ${CMAKE_CURRENT_BINARY_DIR}/otlp_out)
set(_otlp_writers span_test attributes_test otlp_json_test config_test)
foreach(_w IN LISTS _otlp_writers)
  add_test(NAME otlp_files:${_w} COMMAND ${CMAKE_COMMAND} -E env AGENTRACE_TEST_OTLP_DIR=${_otlp_dir}
           $<TARGET_FILE:${_w}> "[otlp-file]")
  set_tests_properties(otlp_files:${_w} PROPERTIES FIXTURES_SETUP agentrace_otlp_files TIMEOUT 300)
endforeach()
# file name -> extra otlp-check options ("fields" has a span whose parent is remote).
set(_otlp_files exception fields hostile_strings limits batches attribute_types non_finite
    same_key_twice env_file)
foreach(_f IN LISTS _otlp_files)
  set(_opts --strict)
  if(NOT _f STREQUAL "fields")
    list(APPEND _opts --no-orphans)
  endif()
  add_test(NAME otlp_check:${_f}
           COMMAND sh -c "command -v node >/dev/null 2>&1 || { echo 'SKIPPED: node is not installed, otlp-check cannot run'; exit 77; }; exec \"$0\" validate \"$@\""
                   ${AGENTRACE_OTLP_CHECK} ${_opts} ${_otlp_dir}/${_f}.jsonl)
  set_tests_properties(otlp_check:${_f} PROPERTIES FIXTURES_REQUIRED agentrace_otlp_files
                       SKIP_RETURN_CODE 77 TIMEOUT 120)
endforeach()

# --- compile-fail: every tests/compile_fail/*.cpp must compile without AGENTRACE_COMPILE_FAIL
# and fail with it, for the reason its `// expect:` line names (compile_fail/check.cmake).
set(_cf_flags ${CMAKE_CURRENT_BINARY_DIR}/compile_fail_flags_$<CONFIG>.txt)
string(REPLACE " " ";" _cf_cxx_flags "${CMAKE_CXX_FLAGS}")
list(FILTER _cf_cxx_flags EXCLUDE REGEX "^$")
list(JOIN _cf_cxx_flags "\n" _cf_cxx_flags)
file(GENERATE OUTPUT ${_cf_flags} CONTENT
"${CMAKE_CXX20_STANDARD_COMPILE_OPTION}
-Wall
-Wextra
-Wpedantic
-Werror
${_cf_cxx_flags}
-I$<JOIN:$<FILTER:$<TARGET_PROPERTY:agentrace,INTERFACE_INCLUDE_DIRECTORIES>,EXCLUDE,^/usr(/local)?/include/?$>,\n-I>
-D$<JOIN:$<TARGET_PROPERTY:agentrace,INTERFACE_COMPILE_DEFINITIONS>,\n-D>
")
file(GLOB _cf_sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/compile_fail/*.cpp)
foreach(_src IN LISTS _cf_sources)
  get_filename_component(_name ${_src} NAME_WE)
  add_test(NAME compile_fail:${_name}
           COMMAND ${CMAKE_COMMAND} -DCOMPILER=${CMAKE_CXX_COMPILER} -DFLAGS_FILE=${_cf_flags}
                   -DSOURCE=${_src} -P ${CMAKE_CURRENT_SOURCE_DIR}/compile_fail/check.cmake)
  set_tests_properties(compile_fail:${_name} PROPERTIES TIMEOUT 300 LABELS compile_fail)
endforeach()

# <agentrace/span.hpp> stays light: a TU that includes it alone must not see fmt, nlohmann_json,
# concurrentqueue, <iostream>, <regex>, <sstream>, nor the registry's <mutex>, <thread>,
# <condition_variable>, <chrono>, <random> (light_span_header.cpp names what it found). A
# syntax check: no executable, about a second.
if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  add_test(NAME light_span_header
           COMMAND ${CMAKE_CXX_COMPILER} -std=c++20 -fsyntax-only -I${_agentrace_inc}
                   ${CMAKE_CURRENT_SOURCE_DIR}/light_span_header.cpp)
  set_tests_properties(light_span_header PROPERTIES TIMEOUT 120)
endif()
# Compiled mode: the file that starts tracing, with <agentrace/setup.hpp>, stays as light (no
# fmt, nlohmann_json, concurrentqueue, <iostream>, <regex>, the collector's <thread>,
# <condition_variable>, <map>). Compiled mode builds from include/, not the single headers.
if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang" AND NOT AGENTRACE_SINGLE_HEADER)
  add_test(NAME light_setup_header
           COMMAND ${CMAKE_CXX_COMPILER} -std=c++20 -fsyntax-only -DAGENTRACE_COMPILED_LIB
                   -I${PROJECT_SOURCE_DIR}/include
                   ${CMAKE_CURRENT_SOURCE_DIR}/light_setup_header.cpp)
  set_tests_properties(light_setup_header PROPERTIES TIMEOUT 120)
endif()
# The same through single_include/: its setup.hpp carries the declarations itself (each inlined
# header wears an include guard shared with agentrace.hpp's copy) and includes agentrace.hpp
# only header-only. Header-only, the two single headers compile together in either order.
if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
  add_test(NAME light_setup_header_single
           COMMAND ${CMAKE_CXX_COMPILER} -std=c++20 -fsyntax-only -DAGENTRACE_COMPILED_LIB
                   -I${PROJECT_SOURCE_DIR}/single_include
                   ${CMAKE_CURRENT_SOURCE_DIR}/light_setup_header.cpp)
  set_tests_properties(light_setup_header_single PROPERTIES TIMEOUT 120)
  foreach(_order "setup.hpp;agentrace.hpp" "agentrace.hpp;setup.hpp")
    list(JOIN _order "_then_" _name)
    string(REPLACE ".hpp" "" _name "${_name}")
    list(TRANSFORM _order PREPEND "agentrace/")
    list(TRANSFORM _order PREPEND "-include;")
    add_test(NAME single_headers_${_name}
             COMMAND ${CMAKE_CXX_COMPILER} -std=c++20 -fsyntax-only -Wall -Wextra -Wpedantic
                     -Werror -I${PROJECT_SOURCE_DIR}/single_include ${_order}
                     ${PROJECT_SOURCE_DIR}/examples/quickstart.cpp)
    set_tests_properties(single_headers_${_name} PROPERTIES TIMEOUT 120)
  endforeach()
endif()

# A program that includes <agentrace/span.hpp> alone, with no setup side (nothing installs the
# hooks to the span's uncommon paths), links and runs: its spans record nothing in any recording
# state. Plain executable, no Catch2: it compiles as fast as an instrumented file.
add_executable(span_only_program ${CMAKE_CURRENT_SOURCE_DIR}/span_only_program.cpp)
target_link_libraries(span_only_program PRIVATE agentrace::agentrace agentrace_warnings)
add_test(NAME span_only_program COMMAND span_only_program)
set_tests_properties(span_only_program PROPERTIES TIMEOUT 60)

# A program that reads, summarizes and queries tests/fixtures/example-otlp-trace.json and writes
# its datasets and report with <agentrace/eval/light.hpp> alone and checks the results.
# Compiled mode: it also fails to compile when the header pulls in nlohmann_json, fmt, <sstream>
# or the definitions, which then come from the library. Plain executable, no Catch2.
add_executable(light_eval_program ${CMAKE_CURRENT_SOURCE_DIR}/light_eval_program.cpp)
target_link_libraries(light_eval_program PRIVATE agentrace::agentrace agentrace_warnings)
add_test(NAME light_eval_program
         COMMAND light_eval_program ${CMAKE_CURRENT_SOURCE_DIR}/fixtures/example-otlp-trace.json
                 ${CMAKE_CURRENT_BINARY_DIR}/light_eval_program.missing.json)
set_tests_properties(light_eval_program PROPERTIES TIMEOUT 60)
