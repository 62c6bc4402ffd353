// Counts heap allocations for `ringfence bench` (SPEC §4.3) by defining malloc, calloc,
// realloc and the aligned allocators (posix_memalign, aligned_alloc, memalign — the Swift
// runtime's heap fallback for temporary buffers uses them) in the executable, which takes
// precedence over libc's definitions, and forwarding to glibc's own entry points. Blocks are
// glibc's unchanged — no header is added — so free and malloc_usable_size stay consistent with
// them. When counting is off the cost is one relaxed atomic load per call.
#include "allocation_counter.h"
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>

#if defined(__linux__) && defined(__GLIBC__)
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *pointer, size_t size);
extern void *__libc_memalign(size_t alignment, size_t size);

static atomic_int counting;
static atomic_size_t calls;

void *malloc(size_t size) {
    if (atomic_load_explicit(&counting, memory_order_relaxed)) atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed);
    return __libc_malloc(size);
}

void *calloc(size_t count, size_t size) {
    if (atomic_load_explicit(&counting, memory_order_relaxed)) atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed);
    return __libc_calloc(count, size);
}

void *realloc(void *pointer, size_t size) {
    if (atomic_load_explicit(&counting, memory_order_relaxed)) atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed);
    return __libc_realloc(pointer, size);
}

void *memalign(size_t alignment, size_t size) {
    if (atomic_load_explicit(&counting, memory_order_relaxed)) atomic_fetch_add_explicit(&calls, 1, memory_order_relaxed);
    return __libc_memalign(alignment, size);
}

void *aligned_alloc(size_t alignment, size_t size) {
    return memalign(alignment, size);
}

int posix_memalign(void **result, size_t alignment, size_t size) {
    if (alignment % sizeof(void *) != 0 || (alignment & (alignment - 1)) != 0) return EINVAL;
    void *block = memalign(alignment, size);
    if (block == NULL) return ENOMEM;
    *result = block;
    return 0;
}

void rf_allocation_counter_start(void) {
    atomic_store(&calls, 0);
    atomic_store(&counting, 1);
}

size_t rf_allocation_counter_stop(void) {
    atomic_store(&counting, 0);
    return atomic_load(&calls);
}

int rf_allocation_counter_available(void) { return 1; }
#else
void rf_allocation_counter_start(void) {}
size_t rf_allocation_counter_stop(void) { return 0; }
int rf_allocation_counter_available(void) { return 0; }
#endif
