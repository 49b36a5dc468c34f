#!/usr/bin/env bash
# The README demo: a broker in a temporary runtime directory, the echo service, a few CLI calls,
# a short latency measurement, and a clean shutdown.
set -euo pipefail
bin=${1:-.build/release}
dir=$(mktemp -d /tmp/binder-demo.XXXXXX)
export BINDER_RUNTIME_DIR=$dir
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

ready=$(mktemp -u "$dir/ready.XXXX"); mkfifo "$ready"
"$bin/binderd" --runtime-dir "$dir" --ready-fd 3 --log-level warning 3>"$ready" &
pids+=($!)
read -r line < "$ready"
echo "binderd is $line on $dir/binder.sock (pid ${pids[0]})"

"$bin/binder" echo serve --name demo.echo --quiet &
pids+=($!)

step binder service wait demo.echo --timeout 5
"$bin/binder" service wait demo.echo --timeout 5
step binder service list
"$bin/binder" service list
step binder service call demo.echo 1 i32 42 s "hello binder" --reply i32,s
"$bin/binder" service call demo.echo 1 i32 42 s "hello binder" --reply i32,s
step binder service call demo.echo 2 --reply i32,i32,i32,i32,i32   "# whoAmI: no exception (0), an IEcho.Identity parcelable of 16 bytes: pid, uid, container as the broker stamped them"
"$bin/binder" service call demo.echo 2 --reply i32,i32,i32,i32,i32
step binder status
"$bin/binder" status
step binder bench --mode routed --size 32 --seconds 2 --pin same
"$bin/binder" bench --mode routed --size 32 --seconds 2 --pin same
step binder channel open demo.echo   "# a direct channel: binderd makes the pair, then calls skip it"
"$bin/binder" channel open demo.echo
step binder bench --mode direct --size 32 --seconds 2 --pin same
"$bin/binder" bench --mode direct --size 32 --seconds 2 --pin same
step "kill -TERM <echo service> <binderd>"
kill -TERM "${pids[1]}"; wait "${pids[1]}" 2>/dev/null || true
kill -TERM "${pids[0]}"
wait "${pids[0]}" && echo "binderd exited cleanly"
