// tricolor: a tracing garbage collector for C++20. The one header to include.
//
//     #include "gc/tricolor.hpp"
//     struct node {
//       tricolor::gc_ptr<node> next;
//       void trace(tricolor::tracer& t) const { t(next); }
//     };
//     auto head = tricolor::make_gc<node>();
//
// See README.md for the tour and gc/collector.cc for how a cycle works.
#pragma once

#include "gc/control.hpp"
#include "gc/coroutine.hpp"
#include "gc/gc_array.hpp"
#include "gc/gc_ptr.hpp"
#include "gc/gc_root.hpp"
#include "gc/gc_vector.hpp"
#include "gc/make_gc.hpp"
#include "gc/root_allocator.hpp"
#include "gc/tracer.hpp"
#include "gc/weak_gc_ptr.hpp"
#include "roots/safepoint.hpp"
