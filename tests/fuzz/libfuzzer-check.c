/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Configure-time check that clang links -fsanitize=fuzzer. */
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        return 0;
}
