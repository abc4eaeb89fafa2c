/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* libFuzzer target for the workload record reader: any input is refused
 * with a reason or accepted as a record that formats to text the reader
 * takes back, and that formats to exactly the same bytes again (an older
 * version's record is written in the current one). */

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
        workload_record_done(&r);

        WorkloadRecord again = {};
        char *text_again = NULL;
        size_t size_again;
        if (workload_record_parse(text, text_size, &again, &reason) < 0)
                abort();
        if (workload_record_format(&again, &text_again, &size_again) < 0)
                abort();
        if (size_again != text_size || memcmp(text_again, text, text_size) != 0)
                abort();
        free(text_again);
        workload_record_done(&again);
        free(text);
        return 0;
}
