#!/usr/bin/env bash
# upcase serve against a plain Tokio echo server (the ceiling for any
# transform server over loopback), under the same `upcase bench` scenarios.
#
#   benches/compare.sh            # ~6 minutes after the release build
#   ROUNDS=3 DURATION=2 benches/compare.sh   # quicker, noisier
#   PIN_CPU=0 benches/compare.sh  # servers and load generator share CPU 0
#
# On a VM whose idle vCPUs halt, a request/response round trip between two
# cores is dominated by the wake-up of the other vCPU, whatever the server
# does. PIN_CPU puts everything on one core, so rr numbers measure CPU cost
# per message instead (and stream numbers the CPU cost per byte of both ends).
#
# Builds release, starts both servers, then runs every scenario against each,
# alternating which goes first from round to round, ROUNDS times; prints the
# medians and the upcase/echo ratio per scenario as a Markdown table. Then
# measures server RSS per idle connection with IDLE connections on a fresh
# server of each kind. Raw `upcase bench --json` lines are kept in $RESULTS.
#
# Every reply is verified by `upcase bench`; a scenario that reports a
# mismatch or a connection error stops the script. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-3}      # seconds measured per run
WARMUP=${WARMUP:-0.5}        # seconds of load before measuring, per run
IDLE=${IDLE:-10000}          # connections for the idle-memory scenario
BENCH_THREADS=${BENCH_THREADS:-1}
PIN_CPU=${PIN_CPU:-}
pin=()
if [ -n "$PIN_CPU" ]; then pin=(taskset -c "$PIN_CPU"); fi
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
RESULTS=${RESULTS:-$CARGO_TARGET_DIR/compare-results.jsonl}
export CARGO_TERM_COLOR=never

command -v python3 >/dev/null || { echo "compare.sh needs python3" >&2; exit 1; }

echo "building release binaries..." >&2
cargo build --release --quiet -p upcase-cli --bin upcase --example echo
UPCASE=$CARGO_TARGET_DIR/release/upcase
ECHO=$CARGO_TARGET_DIR/release/examples/echo

# Every idle connection is a descriptor in the measuring client and in the
# server: raise the soft limit (children inherit it).
want=$((IDLE + 512))
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt "$want" ]; then
    IDLE=$((hard - 512))
    echo "open-file hard limit is $hard: measuring with $IDLE idle connections" >&2
    want=$hard
fi
ulimit -n "$want"

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# start NAME CMD...: runs a server, waits for its "listening on ADDR" line,
# sets $ADDR and $PID.
start() {
    local name=$1 log=$work/$1.log
    shift
    "${pin[@]}" "$@" >/dev/null 2>"$log" &
    PID=$!
    pids+=("$PID")
    for _ in $(seq 200); do
        # The address with its port (the line is written in one piece).
        ADDR=$(sed -n 's/.*listening on \([0-9.]*:[0-9][0-9]*\)$/\1/p' "$log" | head -n1)
        [ -n "$ADDR" ] && return 0
        kill -0 "$PID" 2>/dev/null || break
        sleep 0.05
    done
    echo "$name did not start:" >&2
    cat "$log" >&2
    exit 1
}

# Idle servers cost nothing, so both run throughout; each gets the whole
# machine while it is measured. Logs go to files: `info` logs one line per
# connection, never per message.
start upcase "$UPCASE" serve --listen 127.0.0.1:0
UPCASE_ADDR=$ADDR
start echo "$ECHO" --listen 127.0.0.1:0
ECHO_ADDR=$ADDR

# name|bench flags
scenarios=(
    "rr-1|--mode rr --connections 1 --size 64"
    "rr-100|--mode rr --connections 100 --size 64"
    "stream-1|--mode stream --connections 1 --size 65536"
    "stream-8|--mode stream --connections 8 --size 65536"
)

: >"$RESULTS"
run() { # run SERVER SCENARIO PAYLOAD FLAGS...
    local server=$1 scenario=$2 payload=$3 addr expect
    shift 3
    if [ "$server" = upcase ]; then addr=$UPCASE_ADDR expect=upper; else addr=$ECHO_ADDR expect=echo; fi
    local json
    # shellcheck disable=SC2068
    if ! json=$("${pin[@]}" "$UPCASE" --log-level warn bench --json --connect "$addr" --expect "$expect" \
        --payload "$payload" --duration "$DURATION" --warmup "$WARMUP" \
        --threads "$BENCH_THREADS" $@); then
        echo "upcase bench failed against $server ($scenario $payload): $json" >&2
        exit 1
    fi
    printf '{"server":"%s","scenario":"%s","round":%d,"bench":%s}\n' \
        "$server" "$scenario" "$round" "$json" >>"$RESULTS"
}

total=$((ROUNDS * ${#scenarios[@]} * 4))
done_runs=0
for round in $(seq "$ROUNDS"); do
    # Alternate who goes first, so slow drift favours neither.
    if [ $((round % 2)) -eq 1 ]; then order="upcase echo"; else order="echo upcase"; fi
    for entry in "${scenarios[@]}"; do
        name=${entry%%|*}
        flags=${entry#*|}
        for payload in ascii unicode; do
            for server in $order; do
                done_runs=$((done_runs + 1))
                printf '\r[%d/%d] round %d: %s %s %s   ' \
                    "$done_runs" "$total" "$round" "$server" "$name" "$payload" >&2
                # shellcheck disable=SC2086
                run "$server" "$name" "$payload" $flags
            done
        done
    done
done
echo >&2
kill "${pids[@]}" 2>/dev/null || true
wait 2>/dev/null || true
pids=()

# Idle memory: a fresh server of each kind, IDLE connections that each
# exchanged one message, RSS from /proc before and after.
idle() { # idle SERVER → "KIB_PER_CONNECTION BEFORE_KIB AFTER_KIB COUNT"
    local server=$1 expect
    if [ "$server" = upcase ]; then
        start upcase-idle "$UPCASE" serve --listen 127.0.0.1:0 --max-connections $((IDLE + 100))
        expect=upper
    else
        start echo-idle "$ECHO" --listen 127.0.0.1:0
        expect=echo
    fi
    python3 - "$ADDR" "$PID" "$IDLE" "$expect" <<'EOF'
import socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
pid, count, expect = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
message = "hello ß".encode()
reply = "HELLO SS".encode() if expect == "upper" else message

def rss_kib():
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])

def exchange():
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.sendall(message)
    got = b""
    while len(got) < len(reply):
        chunk = sock.recv(len(reply) - len(got))
        if not chunk:
            raise SystemExit("server closed early")
        got += chunk
    if got != reply:
        raise SystemExit(f"wrong reply {got!r}, expected {reply!r}")
    return sock

# Warm up threads and allocator, then measure from there.
for _ in range(200):
    exchange().close()
time.sleep(0.5)
before = rss_kib()
idle = [exchange() for _ in range(count)]
time.sleep(1.0)
after = rss_kib()
print(f"{(after - before) / count:.2f} {before} {after} {count}")
for sock in idle:
    sock.close()
EOF
    kill "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
    pids=()
}
echo "idle memory: $IDLE connections per server..." >&2
idle upcase >"$work/upcase.idle"
idle echo >"$work/echo.idle"
UPCASE_IDLE=$(cat "$work/upcase.idle")
ECHO_IDLE=$(cat "$work/echo.idle")

PINNING=${PIN_CPU:+, everything pinned to CPU $PIN_CPU}
MACHINE="$(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1), Linux $(uname -r), $(rustc --version | cut -d' ' -f1-2)"
python3 - "$RESULTS" "$UPCASE_IDLE" "$ECHO_IDLE" "$MACHINE" "$ROUNDS" "$DURATION" "$PINNING" <<'EOF'
import json, statistics, sys
results, upcase_idle, echo_idle, machine, rounds, duration, pinning = sys.argv[1:]
runs = [json.loads(line) for line in open(results)]
scenarios = []
for run in runs:
    key = (run["scenario"], run["bench"]["payload"])
    if key not in scenarios:
        scenarios.append(key)

def pick(server, key):
    return [r["bench"] for r in runs
            if r["server"] == server and (r["scenario"], r["bench"]["payload"]) == key]

def median(values):
    return statistics.median(values) if values else float("nan")

print(f"upcase serve vs a plain Tokio echo server, {rounds} alternating rounds of "
      f"{duration} s per run, medians{pinning}. Machine: {machine}.")
print()
print("| scenario | payload | upcase | echo | ratio | target | upcase p50 / p99 | echo p50 / p99 |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
failed = []
for key in scenarios:
    scenario, payload = key
    up, echo = pick("upcase", key), pick("echo", key)
    metric, unit = (("msgs_per_s", "msgs/s") if scenario.startswith("rr")
                    else ("sent_mb_per_s", "MB/s"))
    up_v, echo_v = median([b[metric] for b in up]), median([b[metric] for b in echo])
    ratio = up_v / echo_v if echo_v else float("nan")
    per_round = sorted(u[metric] / e[metric] for u, e in zip(up, echo) if e[metric])
    target = 0.95 if payload == "ascii" else 0.85
    ok = ratio >= target
    if not ok:
        failed.append(f"{scenario} {payload}")
    lat = lambda bs, p: median([b["latency_us"][p] for b in bs])
    fmt = lambda v: f"{v:,.0f} {unit}"
    print(f"| {scenario} | {payload} | {fmt(up_v)} | {fmt(echo_v)} | "
          f"**{ratio:.2f}** ({per_round[0]:.2f}–{per_round[-1]:.2f}) | ≥ {target:.2f} {'✓' if ok else '✗'} | "
          f"{lat(up, 'p50'):,.0f} / {lat(up, 'p99'):,.0f} µs | "
          f"{lat(echo, 'p50'):,.0f} / {lat(echo, 'p99'):,.0f} µs |")

up_kib, up_before, up_after, count = upcase_idle.split()
echo_kib, echo_before, echo_after, _ = echo_idle.split()
idle_ok = float(up_kib) <= 8.0
if not idle_ok:
    failed.append("idle memory")
print(f"| idle, {count} connections | | {float(up_kib):.2f} KiB/conn | {float(echo_kib):.2f} KiB/conn | | "
      f"≤ 8 KiB {'✓' if idle_ok else '✗'} | RSS {up_before} → {up_after} KiB | RSS {echo_before} → {echo_after} KiB |")
print()
print("rr: messages per second (64 B messages, one in flight per connection). stream: MB/s "
      "sent by the load generator (64 KiB writes; 1 MB = 10^6 B). Ratio: upcase median / "
      "echo median (range of per-round ratios in parentheses). Latency: per message (rr) or "
      "per 64 KiB chunk (stream), median over rounds of each run's percentile.")
if failed:
    print()
    print("targets missed: " + ", ".join(failed))
EOF
echo "raw results: $RESULTS" >&2
