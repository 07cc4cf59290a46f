#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Shared driver of scripts/fuzz-ci and scripts/fuzz-long.
#   run-fuzz.sh MODE
# MODE ci:   replay every committed corpus file, then fuzz each target for
#            FUZZ_SECONDS (default 30) in a scratch copy of its corpus.
# MODE long: fuzz each target for FUZZ_RUNS executions (default 10,000,000;
#            FUZZ_MAX_SECONDS caps the time, default none), then merge new
#            coverage-increasing inputs back into tests/fuzz/corpus/<t>.
# FUZZ_TARGETS limits the targets; FUZZ_JOBS runs that many at once (2).
# FUZZ_WORKERS (long mode, default 1) splits each target's campaign over
# that many processes sharing one corpus directory (libFuzzer reloads what
# the others add), each with its own seed and FUZZ_RUNS / FUZZ_WORKERS
# executions; the figures are their sums.
# tests/fuzz/<t>.options holds extra libFuzzer flags of a target, and
# tests/fuzz/<t>.long.options flags for the long campaign only.
# The long campaign records no allocation stacks (malloc_context_size=0:
# a fifth of the time of allocation-heavy targets); replay a crashing
# input from build-fuzz-crashes/ for the full report.
# Prints FIGURE fuzz_<t>_{execs,seconds,corpus,cov,crashes}=... per target.
set -euo pipefail
mode=${1:?usage: run-fuzz.sh ci|long}
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
build=${FUZZ_BUILD:-build-fuzz}
all_targets=$(sed -n "s/^fuzz_targets = \[\(.*\)\]/\1/p" tests/fuzz/meson.build | tr -d "'" | tr ',' ' ')
targets=${FUZZ_TARGETS:-$all_targets}
jobs=${FUZZ_JOBS:-2}

if [ ! -d "$build" ]; then
  CC=clang meson setup "$build" -Dfuzz=enabled -Db_sanitize=address,undefined \
    -Db_lundef=false -Dc_args=-fsanitize=fuzzer-no-link -Dtests=disabled \
    -Dbench=disabled -Ddocs=disabled >/dev/null
fi
# Build only the fuzz executables: they link the static objects, and the
# shared library does not link with clang's static sanitizer runtime.
ninja -C "$build" $(for t in $targets; do echo "tests/fuzz/fuzz_$t"; done) >/dev/null

work=$(mktemp -d "${TMPDIR:-/tmp}/mlops-fuzz-run-XXXXXX")
trap 'rm -rf "$work"' EXIT
# the file backend fsyncs: keep scratch stores on tmpfs when there is one
[ -d /dev/shm ] && [ -z "${TMPDIR:-}" ] && export TMPDIR=/dev/shm
asan=detect_leaks=1:allocator_may_return_null=1
[ "$mode" = long ] && asan=$asan:malloc_context_size=0
export ASAN_OPTIONS=${ASAN_OPTIONS:-$asan}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

run_one() {
  local t=$1 exe="$build/tests/fuzz/fuzz_$t" seeds="tests/fuzz/corpus/$t"
  local dir="$work/$t" log="$work/$t.log" crashes=0 t0 t1
  # per-target libFuzzer flags (tests/fuzz/<t>.options; '#' starts a comment)
  local opts=()
  local files=("tests/fuzz/$t.options")
  [ "$mode" = long ] && files+=("tests/fuzz/$t.long.options")
  for o in "${files[@]}"; do
    local more=()
    [ -f "$o" ] && read -r -a more < <(sed 's/#.*//' "$o" | tr '\n' ' ') || true
    opts+=("${more[@]}")
  done
  mkdir -p "$dir/corpus" "$dir/artifacts"
  cp "$seeds"/* "$dir/corpus/" 2>/dev/null || true
  t0=$(date +%s.%N)
  if [ "$mode" = ci ]; then
    # 1. replay: every committed file once (libFuzzer runs files given by name)
    if ! "$exe" -runs=1 "$seeds"/* >"$work/$t.replay.log" 2>&1; then
      echo "replay of $seeds failed:"; tail -30 "$work/$t.replay.log"; crashes=$((crashes + 1))
    fi
    # 2. a short fresh campaign
    "$exe" "${opts[@]}" -max_total_time="${FUZZ_SECONDS:-30}" -print_final_stats=1 -timeout=30 \
      -rss_limit_mb=2048 -artifact_prefix="$dir/artifacts/" "$dir/corpus" >"$log" 2>&1 || true
  else
    local extra=() workers=${FUZZ_WORKERS:-1} wpids=()
    [ -n "${FUZZ_MAX_SECONDS:-}" ] && extra+=(-max_total_time="$FUZZ_MAX_SECONDS")
    for ((w = 1; w <= workers; w++)); do
      "$exe" "${opts[@]}" -runs=$((${FUZZ_RUNS:-10000000} / workers)) -seed=$(($(date +%s) % 1000000 + w)) "${extra[@]}" \
        -print_final_stats=1 -timeout=30 -rss_limit_mb=2048 -artifact_prefix="$dir/artifacts/" \
        "$dir/corpus" >"$log.$w" 2>&1 &
      wpids+=($!)
    done
    for p in "${wpids[@]}"; do wait "$p" || true; done
    cat "$log".* >"$log"
    # keep only inputs that add coverage to the committed corpus
    "$exe" -merge=1 "$seeds" "$dir/corpus" >"$work/$t.merge.log" 2>&1 || true
  fi
  t1=$(date +%s.%N)
  local n_art
  n_art=$(find "$dir/artifacts" -type f | wc -l)
  crashes=$((crashes + n_art))
  if [ "$n_art" -gt 0 ]; then
    echo "fuzz_$t found $n_art crashing inputs:"; ls "$dir/artifacts"
    grep -E "ERROR|oracle violated|SUMMARY" "$log" | head -5
    mkdir -p "$root/build-fuzz-crashes/$t"; cp "$dir/artifacts"/* "$root/build-fuzz-crashes/$t/"
  fi
  local execs cov corpus secs
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | awk '{ s += $1 } END { print s + 0 }')
  cov=$(grep -oE 'cov: [0-9]+' "$log" | grep -oE '[0-9]+' | sort -n | tail -1 || echo 0)
  corpus=$(find "$dir/corpus" -type f | wc -l)
  [ "$mode" = long ] && corpus=$(find "$seeds" -type f | wc -l)
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", b - a }')
  {
    echo "FIGURE fuzz_${t}_execs=${execs:-0}"
    echo "FIGURE fuzz_${t}_seconds=$secs"
    echo "FIGURE fuzz_${t}_corpus=$corpus"
    echo "FIGURE fuzz_${t}_cov=${cov:-0}"
    echo "FIGURE fuzz_${t}_crashes=$crashes"
  } >"$work/$t.figures"
}

pids=()
for t in $targets; do
  run_one "$t" &
  pids+=($!)
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do sleep 1; done
done
for p in "${pids[@]}"; do wait "$p"; done

total=0
for t in $targets; do
  cat "$work/$t.figures"
  c=$(sed -n "s/^FIGURE fuzz_${t}_crashes=//p" "$work/$t.figures")
  total=$((total + c))
done
echo "FIGURE fuzz_crashes_total=$total"
[ "$total" -eq 0 ]
