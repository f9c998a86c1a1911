// SPDX-License-Identifier: MIT
// Per-thread id generator: xoshiro256++ seeded once per thread from std::random_device.
#pragma once

#include <cstdint>
#include <random>
#include <thread>

namespace agentrace::detail {

class id_generator {
 public:
  id_generator() {
    std::random_device rd;
    std::uint64_t seed = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
    seed ^= static_cast<std::uint64_t>(std::hash<std::thread::id>{}(std::this_thread::get_id()));
    for (auto& w : s_) w = splitmix(seed);
  }

  /// A non-zero 64-bit value (ids must never be all zeros).
  std::uint64_t next_nonzero() noexcept {
    std::uint64_t v;
    do v = next(); while (v == 0);
    return v;
  }

  std::uint64_t next() noexcept {
    const std::uint64_t result = rotl(s_[0] + s_[3], 23) + s_[0];
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }
  static std::uint64_t splitmix(std::uint64_t& x) noexcept {
    std::uint64_t z = (x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  std::uint64_t s_[4];
};

}  // namespace agentrace::detail
