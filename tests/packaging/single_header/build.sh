mkdir -p third_party/agentrace
cp "$AGENTRACE_SRC/single_include/agentrace/span.hpp" \
  "$AGENTRACE_SRC/single_include/agentrace/agentrace.hpp" third_party/agentrace/
g++ -std=c++20 -O2 -I third_party main.cpp -o my_agent -lfmt -pthread
