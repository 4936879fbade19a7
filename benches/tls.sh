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

CONNECT_SECS=${CONNECT_SECS:-5}  # seconds per `openssl s_time` run
BENCH_NAME=tls.sh
RESULTS_NAME=tls-results.jsonl
# shellcheck source=benches/lib.sh
. benches/lib.sh
need python3 openssl
build_release

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

start upcase " (tls)" "$UPCASE" serve --listen 127.0.0.1:0 "${TLS_FLAGS[@]}"
UPCASE_ADDR=$ADDR
start echo " (tls)" "$ECHO" --listen 127.0.0.1:0 "${TLS_FLAGS[@]}"
ECHO_ADDR=$ADDR

BENCH_FLAGS=(--tls --tls-ca "$work/ca.pem")

# New TLS connections per second: full handshakes (no resumption), each
# closed at once, for CONNECT_SECS seconds. s_time's own "real seconds" are
# whole seconds, so the wall time is taken here.
connects() { # connects SERVER → connections per second
    local start end count
    start=$(date +%s.%N)
    count=$("${pin[@]}" openssl s_time -connect "$(server_addr "$1")" -new -time "$CONNECT_SECS" \
        -CAfile "$work/ca.pem" 2>/dev/null |
        sed -n 's/^\([0-9]*\) connections in [0-9.]* real seconds.*/\1/p')
    end=$(date +%s.%N)
    [ -n "$count" ] && awk -v n="$count" -v a="$start" -v b="$end" 'BEGIN { printf "%.1f\n", n / (b - a) }'
}

# connects_round ROUND ORDER: the new-connection rate of each server.
connects_round() {
    local round=$1 order=$2 server rate
    for server in $order; do
        done_runs=$((done_runs + 1))
        printf '\r[%d/%d] round %d: %s new connections   ' "$done_runs" "$total" "$round" "$server" >&2
        rate=$(connects "$server")
        [ -n "$rate" ] || { echo "openssl s_time failed against $server" >&2; exit 1; }
        printf '{"server":"%s","scenario":"connect","round":%d,"connections_per_s":%s}\n' \
            "$server" "$round" "$rate" >>"$RESULTS"
    done
}

run_rounds connects_round 2

PINNING=${PIN_CPU:+, everything pinned to CPU $PIN_CPU}
MACHINE=$(machine "$(openssl version | cut -d' ' -f1-2)")
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
    target = {"ascii": 0.95, "file": 0.80}.get(payload, 0.85)
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
