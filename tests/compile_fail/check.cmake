# SPDX-License-Identifier: MIT
# Runs one compile-fail snippet (cmake -P): without AGENTRACE_COMPILE_FAIL it must compile
# warning-free (so the snippet itself is sound); with it, it must fail, and the diagnostics must
# match the snippet's `// expect: REGEX` line (so it fails for the intended reason).
# Variables: COMPILER, FLAGS_FILE (one flag per line), SOURCE.
file(STRINGS "${FLAGS_FILE}" flags)
list(FILTER flags EXCLUDE REGEX "^$")
file(STRINGS "${SOURCE}" expect REGEX "^// expect: ")
if(NOT expect)
  message(FATAL_ERROR "${SOURCE} has no '// expect: REGEX' line")
endif()
string(REGEX REPLACE "^// expect: " "" expect "${expect}")

execute_process(COMMAND "${COMPILER}" ${flags} -fsyntax-only "${SOURCE}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "control compile (without AGENTRACE_COMPILE_FAIL) failed:\n${out}")
endif()

execute_process(COMMAND "${COMPILER}" ${flags} -fsyntax-only -DAGENTRACE_COMPILE_FAIL "${SOURCE}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(rc EQUAL 0)
  message(FATAL_ERROR "compiled, but must not:\n${out}")
endif()
if(NOT out MATCHES "${expect}")
  message(FATAL_ERROR "failed to compile, but not as expected (want /${expect}/):\n${out}")
endif()
string(REGEX MATCH "[^\n]*error[^\n]*" first_error "${out}")
message(STATUS "fails as expected: ${first_error}")
