# SPDX-License-Identifier: MIT
# Optional parts that need extra libraries live in their own targets so that the core
# (agentrace::agentrace) needs only fmt, concurrentqueue and nlohmann_json.
