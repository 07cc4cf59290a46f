#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Feature-store benchmarks beside the tools people use today, in one run.

Point-in-time join on the workload of workloads/README.md (gen.py files):
libmlops (bench_pit), pandas merge_asof (pandas_pit.py) and DuckDB's ASOF LEFT
JOIN (duckdb_pit.mjs, @duckdb/node-api installed under bench/feature/node_modules),
all on the same CSV files, join time only; every tool must print the README's
checksum line. Online lookups: bench_online against Redis HGETALL over loopback
(redis-server started here on 127.0.0.1 at a private port, stopped by its PID).

    bench/feature/run.py --build BUILD [--sizes 1e5,1e6] [--data DIR] [--no-redis]
                         [--online-entities 1e6]
Prints FIGURE name=value lines and the ratios.
"""
import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))


def workloads_dir():
    for d in (os.environ.get("MLOPS_WORKLOADS"), os.path.join(ROOT, "..", "shared", "workloads"),
              os.path.join(ROOT, "..", "..", "shared", "workloads")):
        if d and os.path.exists(os.path.join(d, "gen.py")):
            return os.path.normpath(d)
    sys.exit("cannot find workloads/gen.py (set MLOPS_WORKLOADS)")


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{r.stdout}\n{r.stderr}")
    return r.stdout


def checksum_of(text):
    for line in text.splitlines():
        if line.startswith("rows="):
            return line.strip()
    return None


def expected_checksum(n):
    readme = open(os.path.join(workloads_dir(), "README.md")).read()
    exp = {"100000": "1e5", "1000000": "1e6", "10000000": "1e7"}.get(str(n))
    m = re.search(rf"^{exp}: (rows=.*)$", readme, re.M) if exp else None
    return m.group(1).strip() if m else None


def figure(name, value):
    print(f"FIGURE {name}={value}", flush=True)


def pit(args, n):
    data = args.data
    fcsv = os.path.join(data, f"pit_features_{n}.csv")
    ecsv = os.path.join(data, f"pit_entities_{n}.csv")
    if not (os.path.exists(fcsv) and os.path.exists(ecsv)):
        run(["/usr/bin/python3", os.path.join(workloads_dir(), "gen.py"), "pit", "--n", str(n),
             "--out", data])
    want = expected_checksum(n)
    rep = "5" if n <= 1_000_000 else "3"
    ours = run([os.path.join(args.build, "bench", "feature", "bench_pit"), fcsv, ecsv,
                "--repeat", rep, "--threads", "2"])
    figs = dict(re.findall(r"^FIGURE (\S+)=(\S+)$", ours, re.M))
    sums = {"libmlops": checksum_of(ours)}
    times = {"libmlops": float(figs["pit_join_s"])}
    cpus = {"libmlops": float(figs["pit_join_cpu_s"])}
    tag = f"{n:.0e}".replace("+0", "").replace("+", "")
    for k, v in figs.items():
        figure(f"{k}_{tag}", v)
    pd_out = run(["/usr/bin/python3", os.path.join(HERE, "pandas_pit.py"), fcsv, ecsv,
                  "3" if n <= 1_000_000 else "1"])
    sums["pandas"] = checksum_of(pd_out)
    times["pandas"] = float(re.search(r"TIME (\S+)", pd_out).group(1))
    cpus["pandas"] = float(re.search(r"CPU (\S+)", pd_out).group(1))
    if shutil.which("node") and os.path.isdir(os.path.join(HERE, "node_modules", "@duckdb")):
        dk = run(["node", os.path.join(HERE, "duckdb_pit.mjs"), fcsv, ecsv, "2",
                  "3" if n <= 1_000_000 else "1"])
        sums["duckdb"] = checksum_of(dk)
        times["duckdb"] = float(re.search(r"TIME (\S+)", dk).group(1))
        cpus["duckdb"] = float(re.search(r"CPU (\S+)", dk).group(1))
    else:
        print("duckdb: @duckdb/node-api is not installed under bench/feature/node_modules "
              "(npm install in bench/feature); skipped", flush=True)
    print(f"checksum {tag} expected: {want}")
    ok = True
    for tool, s in sums.items():
        good = s == want
        ok &= good
        print(f"checksum {tag} {tool:8s}: {'OK ' if good else 'BAD'} {s}")
    figure(f"pit_checksums_ok_{tag}", int(ok))
    for tool, t in times.items():
        figure(f"pit_{tool}_join_s_{tag}", f"{t:.4f}")
        figure(f"pit_{tool}_join_cpu_s_{tag}", f"{cpus[tool]:.4f}")
    for tool in ("pandas", "duckdb"):
        if tool in times:
            figure(f"pit_speedup_vs_{tool}_{tag}", f"{times[tool] / times['libmlops']:.1f}")
            figure(f"pit_cpu_ratio_vs_{tool}_{tag}", f"{cpus[tool] / cpus['libmlops']:.1f}")
    return ok


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def online(args):
    import numpy as np
    e = int(float(args.online_entities))
    vals = os.path.join(args.data, f"online_values_{e}.f64")
    if not os.path.exists(vals):
        np.random.default_rng([42, 5]).standard_normal((e, 4)).astype("<f8").tofile(vals)
    ours = run([os.path.join(args.build, "bench", "feature", "bench_online"), "--entities",
                str(e), "--values", vals, "--lookups", "1000000"])
    figs = dict(re.findall(r"^FIGURE (\S+)=(\S+)$", ours, re.M))
    for k, v in figs.items():
        figure(k, v)
    if args.no_redis or not shutil.which("redis-server"):
        print("redis: skipped", flush=True)
        return
    port = free_port()
    srv = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", str(port),
                            "--save", "", "--appendonly", "no", "--protected-mode", "yes"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True,
                              text=True).stdout.strip() == "PONG":
                break
            time.sleep(0.1)
        x = np.fromfile(vals, dtype="<f8").reshape(e, 4)
        chunks = []
        for i in range(e):
            key = f"e:{i:012d}"
            parts = [b"HSET", key.encode()]
            for k in range(4):
                parts += [f"f{k}".encode(), f"{x[i, k]:.17g}".encode()]
            chunks.append(b"*%d\r\n" % len(parts) +
                          b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts))
        subprocess.run(["redis-cli", "-p", str(port), "--pipe"], input=b"".join(chunks),
                       capture_output=True, check=True)
        res = {}
        for name, extra in (("unpipelined", ["-c", "1", "-n", "100000"]),
                            ("pipelined", ["-c", "1", "-P", "16", "-n", "1000000"])):
            out = run(["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-r", str(e),
                       "--csv", *extra, "HGETALL", "e:__rand_int__"])
            rps = float(out.strip().splitlines()[-1].split(",")[1].strip('"'))
            res[name] = rps
            figure(f"redis_hgetall_{name}_per_s", f"{rps:.0f}")
        ours_rps = float(figs["online_lookups_per_s"])
        figure("online_vs_redis_pipelined", f"{ours_rps / res['pipelined']:.1f}")
        figure("online_vs_redis_unpipelined", f"{ours_rps / res['unpipelined']:.1f}")
    finally:
        os.kill(srv.pid, signal.SIGTERM)
        srv.wait(timeout=30)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--sizes", default="1e5,1e6")
    ap.add_argument("--data", default=None)
    ap.add_argument("--no-redis", action="store_true")
    ap.add_argument("--no-online", action="store_true")
    ap.add_argument("--online-entities", default="1e6")
    args = ap.parse_args()
    args.build = os.path.abspath(args.build)
    if args.data is None:
        args.data = os.path.join(args.build, "benchdata")
    os.makedirs(args.data, exist_ok=True)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} "
          "(times are wall-clock medians; cpu = process CPU time, all threads)", flush=True)
    ok = True
    for s in args.sizes.split(","):
        if s:
            ok &= pit(args, int(float(s)))
    if not args.no_online:
        online(args)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
