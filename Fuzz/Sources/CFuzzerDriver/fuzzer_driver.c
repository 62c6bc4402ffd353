#include "fuzzer_driver.h"

/// libFuzzer's entry point for programs that have their own `main` (compiler-rt, LLVM 11 and later).
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*test)(const uint8_t *data, size_t size));

int ringfence_fuzz_run(int argc, char **argv, ringfence_fuzz_test_one_input test) {
    return LLVMFuzzerRunDriver(&argc, &argv, test);
}

/// LeakSanitizer's built-in suppressions (it calls this hook when a program defines it).
///
/// What a Swift global's one-time initialiser (`…_WZ`) allocates lives as long as the program,
/// but Swift keeps flags in the spare high bits of some references (large strings, enum payload
/// boxes), which LeakSanitizer does not recognise as pointers: without this, every global holding
/// such values would be reported as leaked at exit.
const char *__lsan_default_suppressions(void) {
    return "leak:_WZ\n";
}

/// LeakSanitizer's default options: its suppressions are expected, so their statistics stay quiet.
const char *__lsan_default_options(void) {
    return "print_suppressions=0";
}
