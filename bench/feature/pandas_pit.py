#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""pandas merge_asof on the point-in-time workload (workloads/README.md): by
entity, backward, tolerance = TTL, the created-timestamp tie-break by sorting.
Loading the CSVs is not timed; the sorts and the merge are.
    pandas_pit.py FEATURES.csv ENTITIES.csv [repeat]"""
import sys
import time

import numpy as np
import pandas as pd

TTL = 172800
feat, ent = sys.argv[1], sys.argv[2]
repeat = int(sys.argv[3]) if len(sys.argv) > 3 else 1
f = pd.read_csv(feat)
e = pd.read_csv(ent)
e["i"] = np.arange(len(e), dtype=np.int64)
times, cpus = [], []
for _ in range(repeat):
    t0 = time.perf_counter()
    c0 = time.process_time()
    fs = f.sort_values(["event_ts", "created_ts"], kind="stable")
    es = e.sort_values("event_ts", kind="stable")
    out = pd.merge_asof(es, fs, on="event_ts", by="entity_id", direction="backward",
                        tolerance=TTL, allow_exact_matches=True, suffixes=("", "_f"))
    times.append(time.perf_counter() - t0)
    cpus.append(time.process_time() - c0)
# merge_asof drops the right 'on' column: the checksum pass keeps a copy (fev).
fs2 = f.sort_values(["event_ts", "created_ts"], kind="stable").assign(fev=lambda d: d.event_ts)
out = pd.merge_asof(e.sort_values("event_ts", kind="stable"), fs2, on="event_ts",
                    by="entity_id", direction="backward", tolerance=TTL)
m = out[out["fev"].notna()]
w = (m["i"].to_numpy(np.uint64) + np.uint64(1))
cr = m["created_ts"].to_numpy(np.int64)
u = [np.rint(m[c].to_numpy() * 1e6).astype(np.int64) for c in ("f0", "f1", "f2", "f3")]
with np.errstate(over="ignore"):
    wc = int(np.sum(w * cr.astype(np.uint64), dtype=np.uint64))
    wf = int(np.sum(w * u[0].astype(np.uint64), dtype=np.uint64))
print(f"rows={len(out)} matched={len(m)} sum_event_ts={int(m['fev'].astype(np.int64).sum())} "
      f"sum_created_ts={int(cr.sum())} sum_f_micro={':'.join(str(int(x.sum())) for x in u)} "
      f"w_created={wc} w_f0={wf}")
print(f"TIME {sorted(times)[len(times) // 2]:.4f}")
print(f"CPU {sorted(cpus)[len(cpus) // 2]:.4f}")
