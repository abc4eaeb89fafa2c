/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Fuzz targets: each defines LLVMFuzzerTestOneInput(). Linked with
 * -fsanitize=fuzzer it runs under libFuzzer; linked with fuzz-replay.c it
 * replays a corpus with any compiler. The parsers read files, so a target
 * writes its input to a file in fuzz_dir() and loads that. */

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A private directory (mode 0755, under $TMPDIR or /tmp), made on the first
 * call and removed with its files at exit. Aborts when it cannot be made:
 * a target without it would test nothing. */
const char *fuzz_dir(void);

/* Replace fuzz_dir()/name with data, mode 0644 (the policy loader refuses
 * group- or world-writable files). Returns the path, valid until the next
 * call; aborts on failure. name may contain one directory, made 0755. */
const char *fuzz_write_file(const char *name, const uint8_t *data, size_t size);
