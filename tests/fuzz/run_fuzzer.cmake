# SPDX-License-Identifier: MIT
# Runs one libFuzzer target for SECONDS over CORPUS (created, kept between runs) and SEEDS.
# cmake -DFUZZER=... -DCORPUS=... -DSEEDS=... -DSECONDS=... -P run_fuzzer.cmake
file(MAKE_DIRECTORY ${CORPUS})
execute_process(
  COMMAND ${FUZZER} -max_total_time=${SECONDS} -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
          ${CORPUS} ${SEEDS}
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${FUZZER} found a problem (exit ${rc}); the input is saved as crash-* / "
                      "timeout-* / leak-* in the working directory")
endif()
