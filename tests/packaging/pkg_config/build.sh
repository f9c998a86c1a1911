export PKG_CONFIG_PATH="$PREFIX/share/pkgconfig"
g++ -std=c++20 -O2 main.cpp -o my_agent $(pkg-config --cflags --libs agentrace)
