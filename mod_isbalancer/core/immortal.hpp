// Function-local singletons that are never destroyed.
//
// A `static T x;` inside a function gets its destructor run by exit(). An httpd
// child can call exit() while other code of ours is still in use: the event MPM's
// SIGTERM handler during start-up (just_die) exits from inside the signal handler,
// possibly in the middle of child_init, and the start thread may be creating
// workers at that moment. An object built here lives in static storage of this
// library and is never destroyed, so exit() leaves it alone; a dlclose releases
// the storage itself. Whatever it owns on the heap is the owner's to release
// (see forget_local_balancers in httpd/lifecycle.cpp).
#pragma once

#include <new>

namespace isb {

// The one object of type T, built on first use (thread-safe, like any function-
// local static) and never destroyed. One object per type: use a distinct type for
// each singleton.
template <class T>
T& immortal() noexcept {
  alignas(T) static unsigned char storage[sizeof(T)];
  static T* const object = ::new (static_cast<void*>(storage)) T();
  return *object;
}

}  // namespace isb
