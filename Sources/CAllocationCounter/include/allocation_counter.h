#ifndef RINGFENCE_ALLOCATION_COUNTER_H
#define RINGFENCE_ALLOCATION_COUNTER_H
#include <stddef.h>

/// Starts counting calls to malloc, calloc and realloc (all threads).
void rf_allocation_counter_start(void);
/// Stops counting and returns the number of calls counted since the last start.
size_t rf_allocation_counter_stop(void);
/// 1 when the counter is interposed on this platform, 0 when it cannot count.
int rf_allocation_counter_available(void);

#endif
