#!/usr/bin/env bash
# Before/after cost of a change on the hot paths: two release builds of this project measured
# interleaved in one run (A, B, A, B, ...), each with its own binderd, every process on CPU 0.
#
#   Benchmarks/compare-builds.sh BIN_DIR_A BIN_DIR_B
#
# BIN_DIR_*: directories with binderd and binder (for example a worktree's .build/release).
# Prints, per mode, both builds' median p50 and the median of the per-round B/A ratios.
# Environment: MODES (default "routed direct"; also handout), SIZE (default 32), SECONDS_PER
# (default 2), ROUNDS (default 5), BENCH_ARGS (more `binder bench` options for every measurement,
# for example "--fds 1"). Prints one line per measurement, then the median p50 of each build and mode
# and the ratio B/A. The VM flips between a fast and a slow mode every few seconds; interleaving
# puts both builds in both modes, and the medians compare like with like.
set -euo pipefail

[[ $# -eq 2 ]] || { echo "usage: $0 BIN_DIR_A BIN_DIR_B" >&2; exit 2; }
A=$1 B=$2
for d in "$A" "$B"; do
  [[ -x $d/binderd && -x $d/binder ]] || { echo "error: no binderd and binder in $d" >&2; exit 2; }
done
MODES=${MODES:-routed direct}
SIZE=${SIZE:-32}
SECONDS_PER=${SECONDS_PER:-2}
ROUNDS=${ROUNDS:-5}
read -r -a BENCH_ARGS <<<"${BENCH_ARGS:-}"
work=$(mktemp -d)
pid=
cleanup() { [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# Starts the build's binderd in a fresh runtime directory (pinned to CPU 0) and waits until it is ready.
start_broker() {
  local bin=$1 dir=$work/run.$RANDOM
  mkdir -p "$dir"
  mkfifo "$dir/ready"
  taskset -c 0 "$bin/binderd" --runtime-dir "$dir" --ready-fd 3 --log-level warning 3>"$dir/ready" &
  pid=$!
  read -r _ <"$dir/ready"
  export BINDER_RUNTIME_DIR=$dir
}

stop_broker() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=; }

results=$work/results.tsv
for round in $(seq "$ROUNDS"); do
  for mode in $MODES; do
    for build in A B; do
      bin=$A; [[ $build == B ]] && bin=$B
      start_broker "$bin"
      p50=$("$bin/binder" bench --mode "$mode" --size "$SIZE" --seconds "$SECONDS_PER" --pin same --json "${BENCH_ARGS[@]}" |
        python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["p50_us"])')
      stop_broker
      printf '%s\t%s\t%s\t%s\n' "$round" "$mode" "$build" "$p50" | tee -a "$results"
    done
  done
done

python3 - "$results" "$A" "$B" <<'EOF'
import statistics, sys
rows = [l.split("\t") for l in open(sys.argv[1]).read().split("\n") if l]
print(f"\nmedian p50 over rounds, {len(set(r[0] for r in rows))} rounds, all on CPU 0 (A = {sys.argv[2]}, B = {sys.argv[3]})")
for mode in dict.fromkeys(r[1] for r in rows):
    a = statistics.median(float(r[3]) for r in rows if r[1] == mode and r[2] == "A")
    b = statistics.median(float(r[3]) for r in rows if r[1] == mode and r[2] == "B")
    # Each round's B/A from the two measurements taken back to back: a flip of the VM's speed
    # mode between rounds moves both, so the median of these is the steadier figure.
    by_round = {}
    for r in rows:
        if r[1] == mode:
            by_round.setdefault(r[0], {})[r[2]] = float(r[3])
    ratios = [v["B"] / v["A"] for v in by_round.values() if "A" in v and "B" in v and v["A"] > 0]
    print(f"  {mode:8} A {a:6.2f} µs   B {b:6.2f} µs   B/A of the medians {b / a:.3f}   "
          f"median of per-round B/A {statistics.median(ratios):.3f} (range {min(ratios):.2f}-{max(ratios):.2f})")
EOF
