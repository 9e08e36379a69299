// What the core needs to know about the members of one balancer.
//
// The httpd layer implements this over proxy_balancer / proxy_worker_shared
// (httpd/worker_table.hpp); tests implement it over plain structs. Every accessor
// reads shared memory that other processes write, so each call returns a fresh
// value and callers must not assume two calls agree.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/shm/shared_state.hpp"

namespace isb {

template <class T>
concept MemberTable = requires(T& t, const T& ct, std::size_t i) {
  { ct.size() } -> std::convertible_to<std::size_t>;
  { ct.status(i) } -> std::same_as<std::uint32_t>;
  { ct.lbset(i) } -> std::convertible_to<int>;
  { ct.weight(i) } -> std::convertible_to<std::int64_t>;
  { ct.route(i) } -> std::convertible_to<std::string_view>;
  { ct.redirect(i) } -> std::convertible_to<std::string_view>;
  // Bytes sent plus bytes received, for bytraffic.
  { ct.traffic(i) } -> std::convertible_to<std::uint64_t>;
  // When the member last went into error, and how long it stays there (µs).
  { ct.error_time(i) } -> std::convertible_to<std::int64_t>;
  { ct.retry_interval(i) } -> std::convertible_to<std::int64_t>;
  { t.counters(i) } -> std::same_as<MemberCounters&>;
  // Atomically clears the error bit; if it was set (this call cleared it),
  // counts a retry and returns true.
  { t.clear_error(i) } -> std::same_as<bool>;
};

}  // namespace isb
