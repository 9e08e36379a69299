// Function-local singletons that are never destroyed.
//
// A `static T x;` inside a function gets its destructor run by exit(). The process
// that hosts this code can call exit() while other threads, or code that the exit
// interrupted, still use such an object: an httpd child that receives SIGTERM while
// it starts exits from inside the signal handler. An object built here lives in
// the static storage of this library and is never destroyed, so exit() leaves it
// alone, and unloading the library releases the storage itself. Whatever the
// object owns on the heap is its owner's to release at a point of its choosing.
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
