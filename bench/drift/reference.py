#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Reference side of the drift bench: makes the drift workload (as
shared/workloads/gen.py does: numpy PCG64, default_rng([seed, 3]); baseline
N(0, 1), current 0.1 + 1.1 N(0, 1)), writes it as raw float64 for the C side,
and times numpy's quantile+histogram PSI and scipy's ks_2samp on it.

usage: reference.py DIR N_PSI N_KS [REPEAT]
prints `REF name=seconds` lines (best of REPEAT)."""
import os
import sys
import time

import numpy as np
import scipy
import scipy.stats as st

out, n_psi, n_ks = sys.argv[1], int(float(sys.argv[2])), int(float(sys.argv[3]))
repeat = int(sys.argv[4]) if len(sys.argv) > 4 else 3


def make(n, seed=42):
    rng = np.random.default_rng([seed, 3])
    return rng.standard_normal(n), 0.1 + 1.1 * rng.standard_normal(n)


def best(f):
    t = []
    r = None
    for _ in range(repeat):
        t0 = time.process_time()
        r = f()
        t.append(time.process_time() - t0)
    return min(t), r


def np_psi(b, c, bins=10):
    edges = np.quantile(b, np.arange(1, bins) / bins)
    pb = np.bincount(np.searchsorted(edges, b, side="right"), minlength=bins) / len(b)
    pc = np.bincount(np.searchsorted(edges, c, side="right"), minlength=bins) / len(c)
    pb = np.where(pb == 0, 1e-4, pb)
    pc = np.where(pc == 0, 1e-4, pc)
    return float(np.sum((pc - pb) * np.log(pc / pb)))


os.makedirs(out, exist_ok=True)
b, c = make(n_psi)
b.tofile(os.path.join(out, "psi_base.f64"))
c.tofile(os.path.join(out, "psi_cur.f64"))
t, v = best(lambda: np_psi(b, c))
print(f"REF psi_numpy_s={t:.6f} value={v!r}")
b2, c2 = make(n_ks, seed=43)
b2.tofile(os.path.join(out, "ks_base.f64"))
c2.tofile(os.path.join(out, "ks_cur.f64"))
t, r = best(lambda: st.ks_2samp(b2, c2))
print(f"REF ks_scipy_s={t:.6f} statistic={r.statistic!r} pvalue={r.pvalue!r}")
print(f"REF versions numpy={np.__version__} scipy={scipy.__version__}")
