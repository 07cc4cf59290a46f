/* SPDX-License-Identifier: MIT */
/* Fuzz profile/sketch deserialization (F13, M3, D-catalogue): arbitrary
 * bytes through mlops_drift_profile_deserialize(). A profile that decodes
 * must survive everything a caller may do with it: serialize (and that
 * encoding decodes to the same encoding), JSON, quantiles, merge with
 * itself, compare with itself. Never a crash, a leak or a huge allocation. */
#include <math.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_alloc a = {0};
    mlops_env *env = fz_env_new(&a);
    mlops_drift_profile *p = NULL;
    mlops_status st = mlops_drift_profile_deserialize(&p, env, data, size);
    FUZZ_CHECK(st == MLOPS_OK || st == MLOPS_E_CORRUPT || st == MLOPS_E_VERSION ||
                   st == MLOPS_E_INVALID || st == MLOPS_E_TOOBIG,
               "deserialize gave %d", st);
    FUZZ_CHECK((st == MLOPS_OK) == (p != NULL), "handle and status disagree");
    if (p != NULL) {
        mlops_bytes b1, b2;
        st = mlops_drift_profile_serialize(&b1, p);
        FUZZ_CHECK(st == MLOPS_OK, "serialize of a decoded profile gave %d", st);
        mlops_drift_profile *q = NULL;
        st = mlops_drift_profile_deserialize(&q, env, b1.data, b1.len);
        FUZZ_CHECK(st == MLOPS_OK, "our own encoding does not decode (%d)", st);
        st = mlops_drift_profile_serialize(&b2, q);
        FUZZ_CHECK(st == MLOPS_OK && b1.len == b2.len && memcmp(b1.data, b2.data, b1.len) == 0,
                   "encoding is not stable across a round trip");
        mlops_bytes_free(&b1);
        mlops_bytes_free(&b2);
        char *json = NULL;
        st = mlops_drift_profile_json(&json, p);
        FUZZ_CHECK(st == MLOPS_OK || st == MLOPS_E_NOMEM, "json gave %d", st);
        mlops_string_free(env, json);
        for (int k = 0; k <= 4; k++) {
            double v = NAN;
            st = mlops_drift_profile_quantile(&v, p, k / 4.0);
            FUZZ_CHECK(st == MLOPS_OK || st == MLOPS_E_INSUFFICIENT || st == MLOPS_E_INVALID,
                       "quantile gave %d", st);
        }
        mlops_drift_profile *const base[1] = {p}, *const cur[1] = {q};
        mlops_drift_report *rep = NULL;
        st = mlops_drift_compare(&rep, base, 1, cur, 1, NULL);
        FUZZ_CHECK(st == MLOPS_OK || st == MLOPS_E_INSUFFICIENT || st == MLOPS_E_INVALID,
                   "compare with itself gave %d", st);
        mlops_drift_report_free(rep);
        st = mlops_drift_profile_merge(q, p);
        FUZZ_CHECK(st == MLOPS_OK || st == MLOPS_E_INVALID || st == MLOPS_E_TOOBIG,
                   "merge with itself gave %d", st);
        mlops_drift_profile_free(q);
        mlops_drift_profile_free(p);
    }
    mlops_env_free(env);
    FUZZ_CHECK(atomic_load(&a.live) == 0, "%ld blocks leaked", atomic_load(&a.live));
    return 0;
}
