# SPDX-License-Identifier: MIT
# Metrics: span-derived RED and GenAI metrics, exemplars, cardinality, temporality, and their
# OTLP encodings (otlp-check validates JSON and protobuf).
agentrace_add_test(metrics_test ${CMAKE_CURRENT_SOURCE_DIR}/metrics_test.cpp)
