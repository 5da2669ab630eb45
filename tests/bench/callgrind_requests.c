/* callgrind's client requests for the bench's instruction counts (tests/bench/instructions.py):
   the gunicorn worker to count is a forked child, which callgrind_control cannot reach, so the
   worker asks callgrind itself (tests/bench/views.py). Outside valgrind each call does nothing. */
#include <valgrind/callgrind.h>

void counting_start(void) {
    CALLGRIND_ZERO_STATS;
    CALLGRIND_START_INSTRUMENTATION;
}

void counting_stop(void) {
    CALLGRIND_DUMP_STATS_AT("counted");
    CALLGRIND_STOP_INSTRUMENTATION;
}
