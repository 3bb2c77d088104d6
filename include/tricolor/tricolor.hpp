// tricolor: a tracing garbage collector for C++20. The one header to include.
//
//     #include <tricolor/tricolor.hpp>
//     struct node {
//       tricolor::gc_ptr<node> next;
//       void trace(tricolor::tracer& t) const { t(next); }
//     };
//     auto head = tricolor::make_gc<node>();
//
// See README.md for the tour and gc/collector.cc for how a cycle works.
#pragma once

#include "tricolor/internal/language_version.hpp"

#include "tricolor/control.hpp"
#include "tricolor/coroutine.hpp"
#include "tricolor/gc_array.hpp"
#include "tricolor/gc_chan.hpp"
#include "tricolor/gc_ptr.hpp"
#include "tricolor/gc_root.hpp"
#include "tricolor/gc_vector.hpp"
#include "tricolor/heap_profile.hpp"
#include "tricolor/leak_report.hpp"
#include "tricolor/make_gc.hpp"
#include "tricolor/root_allocator.hpp"
#include "tricolor/tracer.hpp"
#include "tricolor/weak_gc_ptr.hpp"
#include "tricolor/internal/safepoint.hpp"
