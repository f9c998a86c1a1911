// SPDX-License-Identifier: MIT
// One thread's span queue: a bounded single-producer, single-consumer ring of fixed-size records.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <utility>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "agentrace/detail/compiler.hpp"

AGENTRACE_DETAIL_VISIBILITY_BEGIN

namespace agentrace::detail {

// A large ring is megabytes (capacity x sizeof(T)) that its producer walks through in a circle
// while the collector falls behind. On 4 KiB pages a thread writing spans in a loop misses the
// TLB every ~15 spans; on 2 MiB pages, asked for with MADV_HUGEPAGE where transparent huge pages
// are in "madvise" mode, it does not (measured: ~3 ns per span with a 131,072-span queue). Only
// allocations of 2 MiB or more are affected; the memory is the same. `align`: a power of two;
// freed with std::free. The log queue's blocks come from here too (concurrent_queue.hpp).
inline void* allocate_ring(std::size_t size, std::size_t align) noexcept {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr std::size_t huge = std::size_t{2} << 20;
  if (size >= huge) {
    void* p = nullptr;
    if (posix_memalign(&p, huge, size) != 0) return nullptr;
    (void)madvise(p, size, MADV_HUGEPAGE);  // advice only: failure changes nothing
    return p;
  }
#endif
  if (align <= alignof(std::max_align_t)) return std::malloc(size);
  return std::aligned_alloc(align, (size + align - 1) / align * align);
}

/// A bounded ring of `T` with one producer (the thread that owns it, or the thread that took its
/// state over after it exited) and one consumer (the collector). Its slots are allocated once,
/// when the ring is made; try_enqueue never allocates: when the ring is full it returns false and
/// the caller counts the drop. The producer moves a record into the next slot and publishes it
/// with one release store of its position; the consumer moves records out in bulk and frees their
/// slots with one release store of its own.
///
/// Why an agentrace-owned ring and not a general queue: every instrumented file inlines the
/// enqueue, so the queue's header is compiled in every one of them; this one is ~100 lines of
/// <atomic>. One producer and one consumer per ring is what the spans need (one ring per thread,
/// drained by the collector alone).
template <class T>
class spsc_ring {
 public:
  /// Slots are allocated in runs of this many: the capacity is rounded up to a multiple of it.
  static constexpr std::size_t slot_run = 64;

  /// Throws std::bad_alloc when the slots cannot be allocated.
  explicit spsc_ring(std::size_t capacity)
      : capacity_((capacity + slot_run - 1) / slot_run * slot_run),
        slots_(static_cast<T*>(allocate_ring(capacity_ * sizeof(T), alignof(T)))) {
    if (!slots_) throw std::bad_alloc();
  }
  spsc_ring(const spsc_ring&) = delete;
  spsc_ring& operator=(const spsc_ring&) = delete;
  ~spsc_ring() {
    std::uint64_t h = head_.load(std::memory_order_relaxed);
    const std::uint64_t t = tail_.load(std::memory_order_relaxed);
    for (; h != t; ++h) slots_[h % capacity_].~T();
    std::free(slots_);
  }

  /// Producer: moves `v` into the ring; false (and `v` untouched) when the ring is full.
  AGENTRACE_DETAIL_ALWAYS_INLINE bool try_enqueue(T&& v) noexcept {
    const std::uint64_t t = tail_.load(std::memory_order_relaxed);  // written by this thread only
    if (t - head_seen_ >= capacity_) [[unlikely]] {
      head_seen_ = head_.load(std::memory_order_acquire);
      if (t - head_seen_ >= capacity_) return false;
    }
    ::new (static_cast<void*>(slots_ + write_slot_)) T(std::move(v));
    if (++write_slot_ == capacity_) [[unlikely]]
      write_slot_ = 0;
    tail_.store(t + 1, std::memory_order_release);
    return true;
  }

  /// Consumer: moves up to `max` records to `out` (assigned to, in order); returns how many.
  template <class It>
  std::size_t try_dequeue_bulk(It out, std::size_t max) noexcept {
    const std::uint64_t h = head_.load(std::memory_order_relaxed);  // written by the consumer only
    const std::uint64_t t = tail_.load(std::memory_order_acquire);
    std::size_t n = static_cast<std::size_t>(t - h);
    if (n > max) n = max;
    std::size_t slot = static_cast<std::size_t>(h % capacity_);
    for (std::size_t i = 0; i < n; ++i) {
      *out = std::move(slots_[slot]);
      ++out;
      slots_[slot].~T();  // moved from: ends its lifetime (the slot is raw storage again)
      if (++slot == capacity_) slot = 0;
    }
    if (n != 0) head_.store(h + n, std::memory_order_release);
    return n;
  }

  /// Records queued: exact when neither side is moving, else a value it had meanwhile.
  std::size_t size_approx() const noexcept {
    const std::uint64_t h = head_.load(std::memory_order_acquire);
    const std::uint64_t t = tail_.load(std::memory_order_acquire);
    return static_cast<std::size_t>(t - h);
  }

  std::size_t capacity() const noexcept { return capacity_; }

 private:
  // The producer's line: the ring's shape (written once), its position, where the next record
  // goes, and the consumer's position as it last read it (reloaded only when the ring looks full).
  alignas(64) const std::size_t capacity_;
  T* const slots_;
  std::atomic<std::uint64_t> tail_{0};
  std::size_t write_slot_{0};
  std::uint64_t head_seen_{0};
  // The consumer's line.
  alignas(64) std::atomic<std::uint64_t> head_{0};
};

}  // namespace agentrace::detail

AGENTRACE_DETAIL_VISIBILITY_END
