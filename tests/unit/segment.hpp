// Anonymous shared memory for tests, as httpd's parent creates it before
// forking: a raw mapping, and a formatted SharedState in one.
#pragma once

#include <catch2/catch.hpp>

#include <sys/mman.h>

#include <cstddef>

#include "core/shm/shared_state.hpp"

namespace isb::test {

struct Mapping {
  void* base = nullptr;
  std::size_t size = 0;
  explicit Mapping(std::size_t n) : size(n) {
    base = mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    REQUIRE(base != MAP_FAILED);
  }
  ~Mapping() { munmap(base, size); }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
};

// A fresh segment of geometry `g` (fingerprint 1).
struct Segment {
  Mapping memory;
  SharedState state;
  explicit Segment(const SegmentGeometry& g)
      : memory(*SharedState::bytes_needed(g)),
        state(*SharedState::create(memory.base, memory.size, g, 1)) {}
};

}  // namespace isb::test
