/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* libFuzzer target for the workload record reader: any input is refused
 * with a reason or accepted as a record that formats back to exactly the
 * same bytes. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "workload-record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        WorkloadRecord r = {};
        const char *reason = NULL;
        char *text = NULL;
        size_t text_size;

        if (workload_record_parse((const char *) data, size, &r, &reason) < 0) {
                if (!reason)
                        abort();
                return 0;
        }
        if (workload_record_format(&r, &text, &text_size) < 0)
                abort();
        if (text_size != size || memcmp(text, data, size) != 0)
                abort();
        free(text);
        workload_record_done(&r);
        return 0;
}
