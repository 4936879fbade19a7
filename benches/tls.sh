#!/usr/bin/env bash
# upcase serve over TLS against a tokio-rustls echo server (examples/echo.rs
# --tls-cert/--tls-key, the ceiling for any transform server over TLS on
# loopback), under the same `upcase bench --tls` scenarios; then new TLS
# connections per second with `openssl s_time -new` against each.
#
#   benches/tls.sh                           # ~4 minutes after the release build
#   ROUNDS=3 DURATION=2 benches/tls.sh       # quicker, noisier
#   PIN_CPU=0 benches/tls.sh                 # servers and load generator share CPU 0
#
# Both servers use the same certificate (ECDSA P-256, made here with openssl
# from a throwaway CA) and the same rustls configuration (TLS 1.3 is
# negotiated). Every reply is verified by `upcase bench`; a mismatch or a
# connection error stops the script. Raw `upcase bench --json` lines are kept
# in $RESULTS. Loopback only. Needs openssl and python3.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-3}      # seconds measured per run
WARMUP=${WARMUP:-0.5}        # seconds of load before measuring, per run
CONNECT_SECS=${CONNECT_SECS:-5}  # seconds per `openssl s_time` run
BENCH_THREADS=${BENCH_THREADS:-1}
PIN_CPU=${PIN_CPU:-}
pin=()
if [ -n "$PIN_CPU" ]; then pin=(taskset -c "$PIN_CPU"); fi
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
RESULTS=${RESULTS:-$CARGO_TARGET_DIR/tls-results.jsonl}
export CARGO_TERM_COLOR=never

for tool in python3 openssl; do
    command -v "$tool" >/dev/null || { echo "tls.sh needs $tool" >&2; exit 1; }
done

echo "building release binaries..." >&2
cargo build --release --quiet -p upcase-cli --bin upcase --example echo
UPCASE=$CARGO_TARGET_DIR/release/upcase
ECHO=$CARGO_TARGET_DIR/release/examples/echo

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# A throwaway CA and a server certificate for localhost / 127.0.0.1.
(
    cd "$work"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj "/CN=bench CA" -keyout ca.key -out ca.pem
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -subj "/CN=localhost" -keyout server.key -out server.csr
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >ext.cnf
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
        -extfile ext.cnf -out server.pem
) 2>/dev/null
TLS_FLAGS=(--tls-cert "$work/server.pem" --tls-key "$work/server.key")

# start NAME CMD...: runs a server, waits for its "listening on ADDR (tls)"
# line, sets $ADDR and $PID.
start() {
    local name=$1 log=$work/$1.log
    shift
    "${pin[@]}" "$@" >/dev/null 2>"$log" &
    PID=$!
    pids+=("$PID")
    for _ in $(seq 200); do
        ADDR=$(sed -n 's/.*listening on \([0-9.]*:[0-9][0-9]*\) (tls)$/\1/p' "$log" | head -n1)
        [ -n "$ADDR" ] && return 0
        kill -0 "$PID" 2>/dev/null || break
        sleep 0.05
    done
    echo "$name did not start:" >&2
    cat "$log" >&2
    exit 1
}

start upcase "$UPCASE" serve --listen 127.0.0.1:0 "${TLS_FLAGS[@]}"
UPCASE_ADDR=$ADDR
start echo "$ECHO" --listen 127.0.0.1:0 "${TLS_FLAGS[@]}"
ECHO_ADDR=$ADDR

# name|bench flags (as benches/compare.sh)
scenarios=(
    "rr-1|--mode rr --connections 1 --size 64"
    "rr-100|--mode rr --connections 100 --size 64"
    "stream-1|--mode stream --connections 1 --size 65536"
    "stream-8|--mode stream --connections 8 --size 65536"
)

: >"$RESULTS"
run() { # run SERVER SCENARIO PAYLOAD FLAGS...
    local server=$1 scenario=$2 payload=$3 addr expect json
    shift 3
    if [ "$server" = upcase ]; then addr=$UPCASE_ADDR expect=upper; else addr=$ECHO_ADDR expect=echo; fi
    # shellcheck disable=SC2068
    if ! json=$("${pin[@]}" "$UPCASE" --log-level warn bench --json --connect "$addr" \
        --tls --tls-ca "$work/ca.pem" --expect "$expect" \
        --payload "$payload" --duration "$DURATION" --warmup "$WARMUP" \
        --threads "$BENCH_THREADS" $@); then
        echo "upcase bench failed against $server ($scenario $payload): $json" >&2
        exit 1
    fi
    printf '{"server":"%s","scenario":"%s","round":%d,"bench":%s}\n' \
        "$server" "$scenario" "$round" "$json" >>"$RESULTS"
}

# New TLS connections per second: full handshakes (no resumption), each
# closed at once, for CONNECT_SECS seconds. s_time's own "real seconds" are
# whole seconds, so the wall time is taken here.
connects() { # connects SERVER → connections per second
    local addr start end count
    if [ "$1" = upcase ]; then addr=$UPCASE_ADDR; else addr=$ECHO_ADDR; fi
    start=$(date +%s.%N)
    count=$("${pin[@]}" openssl s_time -connect "$addr" -new -time "$CONNECT_SECS" \
        -CAfile "$work/ca.pem" 2>/dev/null |
        sed -n 's/^\([0-9]*\) connections in [0-9.]* real seconds.*/\1/p')
    end=$(date +%s.%N)
    [ -n "$count" ] && awk -v n="$count" -v a="$start" -v b="$end" 'BEGIN { printf "%.1f\n", n / (b - a) }'
}

total=$((ROUNDS * (${#scenarios[@]} * 4 + 2)))
done_runs=0
for round in $(seq "$ROUNDS"); do
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
    for server in $order; do
        done_runs=$((done_runs + 1))
        printf '\r[%d/%d] round %d: %s new connections   ' "$done_runs" "$total" "$round" "$server" >&2
        rate=$(connects "$server")
        [ -n "$rate" ] || { echo "openssl s_time failed against $server" >&2; exit 1; }
        printf '{"server":"%s","scenario":"connect","round":%d,"connections_per_s":%s}\n' \
            "$server" "$round" "$rate" >>"$RESULTS"
    done
done
echo >&2

PINNING=${PIN_CPU:+, everything pinned to CPU $PIN_CPU}
MACHINE="$(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1), Linux $(uname -r), $(openssl version | cut -d' ' -f1-2)"
python3 - "$RESULTS" "$MACHINE" "$ROUNDS" "$DURATION" "$CONNECT_SECS" "$PINNING" <<'EOF'
import json, statistics, sys
results, machine, rounds, duration, connect_secs, pinning = sys.argv[1:]
runs = [json.loads(line) for line in open(results)]
median = lambda values: statistics.median(values) if values else float("nan")
print(f"upcase serve --tls-cert vs a tokio-rustls echo server, {rounds} alternating rounds of "
      f"{duration} s per run, medians{pinning}. Machine: {machine}.")
print()
print("| scenario | payload | upcase | echo | ratio | target |")
print("|---|---|---:|---:|---:|---:|")
keys = []
for run in runs:
    if run["scenario"] != "connect":
        key = (run["scenario"], run["bench"]["payload"])
        if key not in keys:
            keys.append(key)
failed = []
for scenario, payload in keys:
    pick = lambda server: [r["bench"] for r in runs if r["server"] == server
                           and r["scenario"] == scenario and r["bench"]["payload"] == payload]
    metric, unit = (("msgs_per_s", "msgs/s") if scenario.startswith("rr") else ("sent_mb_per_s", "MB/s"))
    up, echo = median([b[metric] for b in pick("upcase")]), median([b[metric] for b in pick("echo")])
    ratio = up / echo if echo else float("nan")
    target = 0.95 if payload == "ascii" else 0.85
    if ratio < target:
        failed.append(f"{scenario} {payload}")
    print(f"| {scenario} | {payload} | {up:,.0f} {unit} | {echo:,.0f} {unit} | **{ratio:.2f}** | "
          f"≥ {target:.2f} {'✓' if ratio >= target else '✗'} |")
conn = lambda server: median([r["connections_per_s"] for r in runs
                              if r["scenario"] == "connect" and r["server"] == server])
up_c, echo_c = conn("upcase"), conn("echo")
print(f"| new TLS connections | | {up_c:,.0f} /s | {echo_c:,.0f} /s | **{up_c / echo_c:.2f}** | |")
print()
print("rr: messages per second (64 B messages, one in flight per connection). stream: MB/s sent "
      "by the load generator (64 KiB writes). New TLS connections: `openssl s_time -new` "
      f"for {connect_secs} s (full handshakes, each connection closed at once).")
if failed:
    print()
    print("targets missed: " + ", ".join(failed))
EOF
echo "raw results: $RESULTS" >&2
