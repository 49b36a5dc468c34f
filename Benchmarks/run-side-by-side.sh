#!/usr/bin/env bash
# Side-by-side latency benchmark: our broker (binderd, routed mode) and our
# direct channels (service socket made by binderd, calls skip it) against C
# baselines measured in the same run on the same placement.
#
#   Benchmarks/run-side-by-side.sh
#
# Environment:
#   SIZES        message sizes in bytes          (default "32 4096 65536")
#   SECONDS_PER  seconds per measurement         (default 1; plus 0.3 s warm-up)
#   ROUNDS       rounds over all measurements    (default 5; see below)
#   PIN          same | cross | any              (default same)
#   OUT          result directory                (default Benchmarks/results/<timestamp>)
#   BIN_DIR      where binderd and binder live   (default <repo>/.build/release;
#                built with `swift build -c release` only if missing there)
#   BROKER_CPU   CPU for binderd and dbus-broker under PIN=same|cross (default 0)
#   WITH_DBUS    auto | 0 | 1                    (default auto: run if buildable, root
#                and dbus-broker-launch is installed)
#   CC           C compiler                      (default cc)
#   INFLIGHT     calls in flight for the pipelined-throughput sweep at the
#                first size (default "4 16 64"; "" skips it; 1 is the plain run)
#
# Measurements per size: seqpacket, c_relay, c_relay_uring, dbus (if enabled), routed, direct,
# container (as root: a client in container 2 calls an echo service in
# container 1 by container ID); also seqpacket_1fd and routed_1fd at the first size and handout
# (a new direct channel per sample) at 32 B only.
#
# Rounds: the whole set (every mechanism at every size) is measured once per
# round, ROUNDS times, so each mechanism is sampled across the whole run. This
# VM flips between a fast and a slow latency mode every few seconds; measuring
# one mechanism after another for long stretches would compare different modes.
# report.py takes medians across rounds and, for ratios and differences, the
# median of the per-round ratios/differences.
#
# Writes $OUT/results.jsonl (one JSON line per measurement, with a "round" key
# added here: 1..ROUNDS) and then runs report.py, which prints a table and
# writes $OUT/report.md and $OUT/latency.svg.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$HERE")
DEFAULT_BIN_DIR=$REPO/.build/release
BIN_DIR=${BIN_DIR:-$DEFAULT_BIN_DIR}
SIZES=${SIZES:-32 4096 65536}
SECONDS_PER=${SECONDS_PER:-1}
ROUNDS=${ROUNDS:-5}
PIN=${PIN:-same}
OUT=${OUT:-$HERE/results/$(date +%Y%m%d-%H%M%S)}
BROKER_CPU=${BROKER_CPU:-0}
WITH_DBUS=${WITH_DBUS:-auto}
INFLIGHT=${INFLIGHT-4 16 64}
CC=${CC:-cc}
CBUILD=$HERE/.build-c

log() { printf '== %s\n' "$*" >&2; }
fail() { printf 'error: %s\n' "$*" >&2; exit 1; }

case $PIN in same | cross | any) ;; *) fail "PIN must be same, cross or any (got '$PIN')" ;; esac
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || fail "ROUNDS must be a positive integer (got '$ROUNDS')"

# Brokers are pinned with taskset for same/cross; the benchmark programs pin
# their own processes according to --pin.
BROKER_PIN=()
if [[ $PIN != any ]]; then
    BROKER_PIN=(taskset -c "$BROKER_CPU")
fi

# ---- build the C baselines
mkdir -p "$CBUILD"
CFLAGS=(-O2 -Wall -Wextra)
log "building C baselines into $CBUILD"
"$CC" "${CFLAGS[@]}" -o "$CBUILD/seqpacket_pingpong" "$HERE/C/seqpacket_pingpong.c"
"$CC" "${CFLAGS[@]}" -o "$CBUILD/relay" "$HERE/C/relay.c"
"$CC" "${CFLAGS[@]}" -o "$CBUILD/relay_uring" "$HERE/C/relay_uring.c" -luring

dbus_ok=0
if [[ $WITH_DBUS != 0 ]]; then
    why=""
    if ! command -v dbus-broker-launch > /dev/null; then
        why="dbus-broker-launch not installed"
    elif [[ $(id -u) != 0 ]]; then
        why="needs root (private mount namespace for the fake journal socket)"
    elif ! "$CC" "${CFLAGS[@]}" -o "$CBUILD/dbus_pingpong" "$HERE/C/dbus_pingpong.c" \
        $(pkg-config --cflags --libs libsystemd 2> /dev/null || echo -lsystemd); then
        why="dbus_pingpong.c did not build (libsystemd-dev missing?)"
    fi
    if [[ -z $why ]]; then
        dbus_ok=1
    elif [[ $WITH_DBUS == 1 ]]; then
        fail "dbus requested but $why"
    else
        log "skipping dbus: $why"
    fi
fi

# ---- our binaries
if [[ ! -x $BIN_DIR/binderd || ! -x $BIN_DIR/binder || ! -x $BIN_DIR/binder-init ]]; then
    [[ $BIN_DIR == "$DEFAULT_BIN_DIR" ]] || fail "binderd/binder/binder-init not found in BIN_DIR=$BIN_DIR"
    log "release binaries missing: swift build -c release"
    (cd "$REPO" && swift build -c release)
fi

# ---- start the brokers
mkdir -p "$OUT"
RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/binder-bench.XXXXXX")
BINDERD_PID=""
DBUS_PID=""
cleanup() {
    local rc=$?
    for c in 1 2; do
        BINDER_RUNTIME_DIR=$RUN_DIR "$BIN_DIR/binder" container stop "$c" > /dev/null 2>&1 || true
    done
    [[ -z ${ECHO_IN_1_PID:-} ]] || wait "$ECHO_IN_1_PID" 2> /dev/null || true
    if [[ -n $BINDERD_PID ]]; then
        kill -TERM "$BINDERD_PID" 2> /dev/null || true
        wait "$BINDERD_PID" 2> /dev/null || true
    fi
    if [[ -n $DBUS_PID ]]; then
        kill -TERM "$DBUS_PID" 2> /dev/null || true
        wait "$DBUS_PID" 2> /dev/null || true
    fi
    rm -rf "$RUN_DIR"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log "starting binderd (runtime dir $RUN_DIR, ${BROKER_PIN[*]:-unpinned})"
# The container measurement calls from container 2 into container 1: the policy allows that one name.
printf 'allow 2 -> 1 bench.echo\n' > "$RUN_DIR/policy"
# binderd writes READY to --ready-fd once it listens: block on that line (at most 10 s).
mkfifo "$RUN_DIR/ready"
"${BROKER_PIN[@]}" "$BIN_DIR/binderd" --runtime-dir "$RUN_DIR" --policy "$RUN_DIR/policy" --ready-fd 3 \
    3> "$RUN_DIR/ready" > "$OUT/binderd.log" 2>&1 &
BINDERD_PID=$!
if ! read -r -t 10 ready < "$RUN_DIR/ready" || [[ $ready != READY ]]; then
    cat "$OUT/binderd.log" >&2
    fail "binderd did not become ready within 10 s"
fi

if ((dbus_ok)); then
    cat > "$RUN_DIR/dbus.conf" << 'EOF'
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <policy context="default">
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
    <allow own="*"/>
  </policy>
</busconfig>
EOF
    log "starting dbus-broker (${BROKER_PIN[*]:-unpinned})"
    # The helper prints "ready" once the bus socket listens: block on that line.
    exec {dbus_fd}< <("${BROKER_PIN[@]}" unshare --mount --propagation private \
        python3 "$HERE/dbus_broker_up.py" --socket "$RUN_DIR/dbus.sock" \
        --config "$RUN_DIR/dbus.conf" --log "$OUT/dbus-broker.log" 2>> "$OUT/dbus-broker.log")
    DBUS_PID=$!
    if read -r -t 10 ready <&"$dbus_fd" && [[ $ready == ready ]]; then
        export DBUS_SESSION_BUS_ADDRESS="unix:path=$RUN_DIR/dbus.sock"
    else
        log "skipping dbus: broker did not start (see $OUT/dbus-broker.log)"
        dbus_ok=0
    fi
    exec {dbus_fd}<&-
fi

# ---- containers: an echo service in container 1, called from container 2 (needs root)
containers_ok=0
ECHO_IN_1_PID=""
if [[ $(id -u) == 0 ]]; then
    export BINDER_RUNTIME_DIR=$RUN_DIR
    echo_cpu=()
    [[ $PIN == any ]] || echo_cpu=(--cpu 0)
    if "$BIN_DIR/binder" container create 1 > /dev/null && "$BIN_DIR/binder" container create 2 > /dev/null; then
        "$BIN_DIR/binder" container exec 1 -- "$BIN_DIR/binder" echo serve --name bench.echo --quiet "${echo_cpu[@]}" &
        ECHO_IN_1_PID=$!
        if "$BIN_DIR/binder" container exec 1 -- "$BIN_DIR/binder" service wait bench.echo --timeout 10 > /dev/null; then
            containers_ok=1
        else
            log "skipping container: the echo service in container 1 did not register"
        fi
    else
        log "skipping container: binder container create failed (see $OUT/binderd.log)"
    fi
    unset BINDER_RUNTIME_DIR
else
    log "skipping container: creating namespaces needs root"
fi

# ---- measure
{
    echo "date: $(date -Is)"
    echo "host: $(uname -srm), $(nproc) CPUs"
    echo "commit: $(git -C "$REPO" rev-parse --short HEAD 2> /dev/null || echo none)"
    echo "pin: $PIN, broker cpu: ${BROKER_PIN[*]:-unpinned}, seconds per run: $SECONDS_PER, rounds: $ROUNDS, sizes: $SIZES"
} > "$OUT/env.txt"

RESULTS=$OUT/results.jsonl
: > "$RESULTS"
failures=0
round=0
# run_one LABEL CMD...: runs one measurement, appends its JSON line with
# "round": $round added before the closing brace (the programs' own output has
# no round key).
run_one() {
    local label=$1 line
    shift
    log "$label"
    if line=$("$@" 2>> "$OUT/stderr.log") && [[ $line == \{*\} ]]; then
        printf '%s\n' "$line" | sed "s/}\$/,\"round\":$round}/" | tee -a "$RESULTS"
    else
        log "FAILED: $label, round $round (see $OUT/stderr.log)"
        failures=$((failures + 1))
    fi
}

common=(--seconds "$SECONDS_PER" --pin "$PIN")
for ((round = 1; round <= ROUNDS; round++)); do
    log "round $round/$ROUNDS (${SECONDS_PER} s per measurement, sizes: $SIZES)"
    for size in $SIZES; do
        # Each ratio's two mechanisms run back to back (seqpacket/direct, c_relay/routed,
        # routed/routed+1fd), so a flip of the VM's speed mode rarely falls between them.
        run_one "seqpacket size=$size" "$CBUILD/seqpacket_pingpong" --size "$size" "${common[@]}"
        if [[ $size == "${SIZES%% *}" ]]; then
            # The raw cost of one fd (SCM_RIGHTS on the same ping-pong), beside routed+1fd below.
            run_one "seqpacket+1fd size=$size" "$CBUILD/seqpacket_pingpong" --fds 1 --size "$size" "${common[@]}"
        fi
        # The same echo over a direct channel: client -> service -> client, binderd not involved.
        run_one "direct size=$size" env BINDER_RUNTIME_DIR="$RUN_DIR" \
            "$BIN_DIR/binder" bench --mode direct --size "$size" "${common[@]}" --json
        run_one "c_relay size=$size" "$CBUILD/relay" --size "$size" "${common[@]}"
        run_one "c_relay_uring size=$size" "$CBUILD/relay_uring" --size "$size" "${common[@]}"
        run_one "routed size=$size" env BINDER_RUNTIME_DIR="$RUN_DIR" \
            "$BIN_DIR/binder" bench --mode routed --size "$size" "${common[@]}" --json
        if ((containers_ok)); then
            # The same call, container-addressed: from container 2 to container 1's service.
            run_one "container size=$size" env BINDER_RUNTIME_DIR="$RUN_DIR" \
                "$BIN_DIR/binder" container exec 2 -- "$BIN_DIR/binder" bench --mode routed --container 1 \
                --service bench.echo --size "$size" "${common[@]}" --json
        fi
        if [[ $size == "${SIZES%% *}" ]]; then
            # What one fd adds to a call, at the smallest size, right after the plain run.
            run_one "routed+1fd size=$size" env BINDER_RUNTIME_DIR="$RUN_DIR" \
                "$BIN_DIR/binder" bench --mode routed --fds 1 --size "$size" "${common[@]}" --json
        fi
        if ((dbus_ok)); then
            run_one "dbus size=$size" "$CBUILD/dbus_pingpong" --size "$size" "${common[@]}"
        fi
        if [[ $size == "${SIZES%% *}" ]]; then
            # Pipelined throughput: N calls in flight from one client, the C relay's client with
            # the same window, back to back per N.
            for n in $INFLIGHT; do
                run_one "c_relay inflight=$n size=$size" "$CBUILD/relay" --inflight "$n" --size "$size" "${common[@]}"
                run_one "c_relay_uring inflight=$n size=$size" "$CBUILD/relay_uring" --inflight "$n" --size "$size" "${common[@]}"
                run_one "routed inflight=$n size=$size" env BINDER_RUNTIME_DIR="$RUN_DIR" \
                    "$BIN_DIR/binder" bench --mode routed --inflight "$n" --size "$size" "${common[@]}" --json
            done
        fi
        if [[ $size == 32 ]]; then
            # A new channel per sample: request, accept, first echo reply (32 B only).
            run_one "handout size=$size" env BINDER_RUNTIME_DIR="$RUN_DIR" \
                "$BIN_DIR/binder" bench --mode handout --size "$size" "${common[@]}" --json
        fi
    done
done
if [[ " $SIZES " != *" 32 "* ]]; then
    log "skipping handout: it is measured at 32 B only and SIZES has no 32"
fi

echo >&2
if [[ -s $RESULTS ]]; then
    python3 "$HERE/report.py" "$RESULTS" --out "$OUT"
fi
echo "results in $OUT"
((failures == 0)) || fail "$failures measurement(s) failed"
