#!/usr/bin/env bash
# upcase serve against a plain Tokio echo server (the ceiling for any
# transform server over loopback), under the same `upcase bench` scenarios.
#
#   benches/compare.sh            # ~6 minutes after the release build
#   ROUNDS=3 DURATION=2 benches/compare.sh   # quicker, noisier
#   PIN_CPU=0 benches/compare.sh  # servers and load generator share CPU 0
#   PAYLOAD_FILE=target/corpora/ru.txt PAYLOADS=file SCENARIOS="stream-1 stream-8" \
#       IDLE=0 benches/compare.sh # real Russian text (benches/realtext/build-corpora.sh)
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

IDLE=${IDLE:-10000}          # connections for the idle-memory scenario
BENCH_NAME=compare.sh
RESULTS_NAME=compare-results.jsonl
# shellcheck source=benches/lib.sh
. benches/lib.sh
need python3
build_release

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

# Idle servers cost nothing, so both run throughout; each gets the whole
# machine while it is measured. Logs go to files: `info` logs one line per
# connection, never per message.
start upcase "" "$UPCASE" serve --listen 127.0.0.1:0
UPCASE_ADDR=$ADDR
start echo "" "$ECHO" --listen 127.0.0.1:0
ECHO_ADDR=$ADDR

run_rounds
stop_servers

# Idle memory: a fresh server of each kind, IDLE connections that each
# exchanged one message, RSS from /proc before and after.
idle() { # idle SERVER → "KIB_PER_CONNECTION BEFORE_KIB AFTER_KIB COUNT"
    local server=$1 expect
    if [ "$server" = upcase ]; then
        start upcase-idle "" "$UPCASE" serve --listen 127.0.0.1:0 --max-connections $((IDLE + 100))
        expect=upper
    else
        start echo-idle "" "$ECHO" --listen 127.0.0.1:0
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
# IDLE=0 skips it.
UPCASE_IDLE="" ECHO_IDLE=""
if [ "$IDLE" -gt 0 ]; then
    echo "idle memory: $IDLE connections per server..." >&2
    idle upcase >"$work/upcase.idle"
    idle echo >"$work/echo.idle"
    UPCASE_IDLE=$(cat "$work/upcase.idle")
    ECHO_IDLE=$(cat "$work/echo.idle")
fi

PINNING=${PIN_CPU:+, everything pinned to CPU $PIN_CPU}
MACHINE=$(machine "$(rustc --version | cut -d' ' -f1-2)")
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
    target = {"ascii": 0.95, "file": 0.80}.get(payload, 0.85)
    ok = ratio >= target
    if not ok:
        failed.append(f"{scenario} {payload}")
    lat = lambda bs, p: median([b["latency_us"][p] for b in bs])
    fmt = lambda v: f"{v:,.0f} {unit}"
    print(f"| {scenario} | {payload} | {fmt(up_v)} | {fmt(echo_v)} | "
          f"**{ratio:.2f}** ({per_round[0]:.2f}–{per_round[-1]:.2f}) | ≥ {target:.2f} {'✓' if ok else '✗'} | "
          f"{lat(up, 'p50'):,.0f} / {lat(up, 'p99'):,.0f} µs | "
          f"{lat(echo, 'p50'):,.0f} / {lat(echo, 'p99'):,.0f} µs |")

if upcase_idle:
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
