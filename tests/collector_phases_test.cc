// The cycle's phase state machine as the rest of the program can observe it:
// off between cycles, never marking while the destructors of a cycle's dead
// objects run (the finalizer thread gets them from that cycle's sweep, and
// runs them during the sweep or after the cycle), and back to off after
// collect() returns.
#include <gtest/gtest.h>

#include "gc/collector.hpp"
#include "tricolor/tricolor.hpp"
#include "tests/test_support.hpp"

namespace {

using tricolor::gc::current_phase;
using tricolor::gc::gc_phase;

gc_phase phase_seen_by_destructor = gc_phase::off;
int destructors_run = 0;

struct witness {
  ~witness() {
    phase_seen_by_destructor = current_phase();
    ++destructors_run;
  }
};

[[gnu::noinline]] void drop_a_witness() { tricolor::make_gc<witness>(); }

TEST(CollectorPhases, OffBetweenCycles) {
  EXPECT_EQ(current_phase(), gc_phase::off);
  tricolor::collect();
  EXPECT_EQ(current_phase(), gc_phase::off);
}

TEST(CollectorPhases, DestructorsRunAfterMarking) {
  phase_seen_by_destructor = gc_phase::mark;
  drop_a_witness();
  tricolor_test::collect_clean();
  ASSERT_EQ(destructors_run, 1) << "the dropped witness was not collected";
  EXPECT_TRUE(phase_seen_by_destructor == gc_phase::sweep ||
              phase_seen_by_destructor == gc_phase::off)
      << "a destructor ran in phase " << static_cast<int>(phase_seen_by_destructor);
}

}  // namespace
