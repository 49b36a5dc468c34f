#!/usr/bin/env bash
# Recovery after kill -9 of binderd (issue 17): one process serves 100 echo services; binderd is
# killed with SIGKILL and a new one started on the same runtime directory, ROUNDS times. Each round
# measures, from just before the new binderd is started to the answer of an echo call to the last
# service the process re-registers, with `binder service wait` and `binder service call`. The
# same two CLI commands against a live broker with the services registered, measured in the same
# run, are the baseline: what the CLI itself costs (two process starts and connections).
#
#   Benchmarks/restart-recovery.sh [BIN_DIR]      (default .build/release)
#
# Environment: SERVICES (default 100), ROUNDS (default 10). Processes are not pinned (placement: any).
set -euo pipefail
BIN=${1:-.build/release}
SERVICES=${SERVICES:-100}
ROUNDS=${ROUNDS:-10}
work=$(mktemp -d)
export BINDER_RUNTIME_DIR=$work/run
mkdir -p "$BINDER_RUNTIME_DIR"
broker= server=
cleanup() {
  [[ -n $server ]] && kill "$server" 2>/dev/null || true
  [[ -n $broker ]] && kill -9 "$broker" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

start_broker() {
  rm -f "$work/ready"; mkfifo "$work/ready"
  "$BIN/binderd" --ready-fd 3 --log-level error 3>"$work/ready" &
  broker=$!
  read -r _ <"$work/ready"
}
last=rec.$((SERVICES - 1))
wait_and_call() {
  "$BIN/binder" service wait "$last" --timeout 10 >/dev/null
  "$BIN/binder" service call "$last" 1 i32 1 >/dev/null
}
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b - a) / 1e6 }'; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

start_broker
"$BIN/binder" echo serve --name rec --instances "$SERVICES" --quiet &
server=$!
wait_and_call
recovery=() baseline=()
for round in $(seq "$ROUNDS"); do
  t0=$(date +%s%N); wait_and_call; t1=$(date +%s%N)
  baseline+=("$(ms "$t0" "$t1")")
  kill -9 "$broker"; wait "$broker" 2>/dev/null || true
  t0=$(date +%s%N)
  start_broker
  wait_and_call
  t1=$(date +%s%N)
  recovery+=("$(ms "$t0" "$t1")")
  echo "round $round: recovery ${recovery[-1]} ms, baseline ${baseline[-1]} ms" >&2
done
r=$(printf '%s\n' "${recovery[@]}" | median)
b=$(printf '%s\n' "${baseline[@]}" | median)
echo "recovery of $SERVICES services after kill -9, $ROUNDS rounds, placement any:"
echo "  p50 from the new binderd's start to an answered call on the last service: $r ms"
awk -v r="$r" -v b="$b" 'BEGIN { printf "  p50 of the same CLI wait + call on a live broker (same run): %.2f ms; ratio %.2fx, difference %.2f ms\n", b, r / b, r - b }'
