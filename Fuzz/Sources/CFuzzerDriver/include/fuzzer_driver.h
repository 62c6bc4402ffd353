#ifndef RINGFENCE_FUZZER_DRIVER_H
#define RINGFENCE_FUZZER_DRIVER_H

#include <stddef.h>
#include <stdint.h>

/// One libFuzzer test: reads `size` bytes at `data`, returns 0.
typedef int (*ringfence_fuzz_test_one_input)(const uint8_t *data, size_t size);

/// Runs libFuzzer's driver (its command line, its loop) over `test`; returns its exit status.
int ringfence_fuzz_run(int argc, char **argv, ringfence_fuzz_test_one_input test);

#endif
