#!/usr/bin/env bash
# The README demo: a broker in a temporary runtime directory, the echo service, a few CLI calls,
# a short latency measurement, and a clean shutdown.
set -euo pipefail
bin=${1:-.build/release}
dir=$(mktemp -d /tmp/binder-demo.XXXXXX)
export BINDER_RUNTIME_DIR=$dir
pids=()
cleanup() {
  for c in 1 2; do "$bin/binder" container stop "$c" >/dev/null 2>&1 || true; done
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

# The container policy: container 2 may call demo.echo in container 1 (nothing else crosses).
echo "allow 2 -> 1 demo.echo" > "$dir/policy"
ready=$(mktemp -u "$dir/ready.XXXX"); mkfifo "$ready"
"$bin/binderd" --runtime-dir "$dir" --policy "$dir/policy" --ready-fd 3 --log-level warning 3>"$ready" &
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

# Containers: real namespaces made by binderd, one broker endpoint each, calls addressed by container ID.
step binder container create 1 --name alpha
"$bin/binder" container create 1 --name alpha
step binder container create 2 --name beta
"$bin/binder" container create 2 --name beta
step "binder container exec 1 -- binder echo serve --name demo.echo &"   "# container 1's own demo.echo (names are per container)"
"$bin/binder" container exec 1 -- "$bin/binder" echo serve --name demo.echo --quiet &
pids+=($!)
"$bin/binder" container exec 1 -- "$bin/binder" service wait demo.echo --timeout 5 >/dev/null
step binder container list
"$bin/binder" container list
step "binder container exec 1 -- sh -c 'hostname; readlink /proc/self/ns/net; ls /sys/class/net; ls /run/binder'"
"$bin/binder" container exec 1 -- sh -c 'hostname; readlink /proc/self/ns/net; ls /sys/class/net; ls /run/binder'
step binder echo whoami demo.echo   "# the root's own demo.echo"
"$bin/binder" echo whoami demo.echo
step binder echo whoami demo.echo --container 1   "# from the root, addressed by container ID"
"$bin/binder" echo whoami demo.echo --container 1
step binder container exec 2 -- binder echo whoami demo.echo --container 1   "# from container 2: allowed by the policy"
"$bin/binder" container exec 2 -- "$bin/binder" echo whoami demo.echo --container 1
step binder container exec 2 -- binder service list   "# container 2's own names: none (container 1's are not among them)"
"$bin/binder" container exec 2 -- "$bin/binder" service list
echo "(none)"
step binder service call --container 1 demo.echo 1 i32 7 --reply i32
"$bin/binder" service call --container 1 demo.echo 1 i32 7 --reply i32
# netd: the host's real network, served to apps in containers (no virtual NIC, no bridge, no NAT).
step "netd --inbound-port 6100 &"   "# the network system service, in the root namespace, exported to every container"
"$bin/netd" --inbound-port 6100 --log-level warning &
pids+=($!)
"$bin/binder" service wait netd --timeout 5 >/dev/null
step "binder container exec 1 -- ls /sys/class/net"   "# the container's own network namespace: only lo"
"$bin/binder" container exec 1 -- ls /sys/class/net
step "binder container exec 1 -- binder net show"   "# what an app in container 1 sees through netd: the host's interfaces, MACs and addresses"
"$bin/binder" container exec 1 -- "$bin/binder" net show
step "ip -br link; ip -br addr"   "# the same, from the root namespace"
ip -br link
ip -br addr
step "binder container foreground 1; binder container exec 1 -- binder net listen --count 1 &"
"$bin/binder" container foreground 1
"$bin/binder" container exec 1 -- "$bin/binder" net listen --count 1 --timeout 10 > "$dir/listen.out" &
listener=$!
until grep -q listening "$dir/listen.out" 2>/dev/null; do sleep 0.05; done
cat "$dir/listen.out"
step "binder container exec 2 -- binder net send 127.0.0.1:6100 'hello from container 2'"   "# netd sends it from the host; it comes back in on netd's port and goes to the foreground container"
"$bin/binder" container exec 2 -- "$bin/binder" net send 127.0.0.1:6100 "hello from container 2"
wait "$listener"
tail -n +2 "$dir/listen.out"
step binder net stats
"$bin/binder" net stats
step binder status   "# the containers section and netd's loaded proxies"
"$bin/binder" status | sed -n '/^SERVICES/,$p'
step binder container stop 1
"$bin/binder" container stop 1
step binder container stop 2
"$bin/binder" container stop 2
wait "${pids[2]}" 2>/dev/null || true

step "kill -TERM <netd> <echo service> <binderd>"
kill -TERM "${pids[3]}"; wait "${pids[3]}" 2>/dev/null || true
kill -TERM "${pids[1]}"; wait "${pids[1]}" 2>/dev/null || true
kill -TERM "${pids[0]}"
wait "${pids[0]}" && echo "binderd exited cleanly"
