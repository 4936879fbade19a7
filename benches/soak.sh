#!/usr/bin/env bash
# Soak: `upcase serve` under mixed load for a long time, sampled each minute.
#
#   bash benches/soak.sh [MINUTES]        # default 30
#
# The load, all on loopback:
#   * `upcase bench` in stream mode (Unicode payload) and in rr mode (binary
#     payload, 20 connections, pipelined), each verifying every reply byte;
#   * hostile clients (benches/soak_hostile.py): connections from 127.0.0.2
#     that send nothing, trickle one byte a second, or send fast and never
#     read, reopened as the server closes them.
# Each minute it prints the server's RSS, open descriptors, connections and
# the total kernel send queue of its sockets (`ss -tmn`). At the end it
# prints both bench summaries: the run passes only if every reply byte was
# right (`mismatches` 0) and the server is still serving.
set -euo pipefail
cd "$(dirname "$0")/.."
MINUTES=${1:-30}
SECS=$((MINUTES * 60))
CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
command -v ss >/dev/null || { echo "soak.sh needs ss (apt-get install iproute2)" >&2; exit 1; }

cargo build --release --quiet -p upcase-cli --bin upcase
UPCASE=$CARGO_TARGET_DIR/release/upcase
WORK=$(mktemp -d)
cleanup() {
    kill $(jobs -p) 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

"$UPCASE" serve --listen 127.0.0.1:0 --max-connections 2000 --idle-timeout 30 \
    --min-rate 16 --log-level warn 2>"$WORK/server.log" &
SERVER=$!
for _ in $(seq 100); do
    # `listening on` is logged at info, which the filter hides: ask the
    # socket table for the port instead.
    PORT=$(ss -tlnpH "( sport > :1024 )" 2>/dev/null | grep "pid=$SERVER," | awk '{print $4}' | sed 's/.*://' | head -n 1)
    [ -n "${PORT:-}" ] && break
    sleep 0.1
done
[ -n "${PORT:-}" ] || { echo "server did not start" >&2; cat "$WORK/server.log" >&2; exit 1; }
ADDR=127.0.0.1:$PORT
echo "soak: $MINUTES min against $ADDR (server pid $SERVER)" >&2

"$UPCASE" bench --connect "$ADDR" --mode stream --payload unicode --connections 4 \
    --size 16384 --duration "$SECS" --timeout 60 --json >"$WORK/stream.json" 2>"$WORK/stream.err" &
STREAM=$!
"$UPCASE" bench --connect "$ADDR" --mode rr --payload binary --connections 20 --pipeline 4 \
    --size 512 --duration "$SECS" --timeout 60 --json >"$WORK/rr.json" 2>"$WORK/rr.err" &
RR=$!
python3 benches/soak_hostile.py "$ADDR" "$SECS" >"$WORK/hostile.log" 2>&1 &

printf '%6s %10s %6s %6s %12s\n' minute rss_kib fds conns send_q_bytes
for minute in $(seq 0 "$MINUTES"); do
    rss=$(awk '/^VmRSS/ {print $2}' /proc/$SERVER/status)
    fds=$(ls /proc/$SERVER/fd | wc -l)
    conns=$(ss -tnH state established "( sport = :$PORT )" | wc -l)
    sendq=$(ss -tnH "( sport = :$PORT )" | awk '{s += $3} END {print s + 0}')
    printf '%6s %10s %6s %6s %12s\n' "$minute" "$rss" "$fds" "$conns" "$sendq"
    [ "$minute" -lt "$MINUTES" ] && sleep 60
done

wait $STREAM || true
wait $RR || true
echo "stream: $(cat "$WORK/stream.json")"
echo "rr:     $(cat "$WORK/rr.json")"
echo "hostile: $(tail -n 1 "$WORK/hostile.log")"
kill -0 $SERVER || { echo "the server died" >&2; exit 1; }
grep -q '"mismatches":0,' "$WORK/stream.json" && grep -q '"mismatches":0,' "$WORK/rr.json" \
    || { echo "wrong bytes" >&2; exit 1; }
echo "soak passed: zero wrong bytes, server still up"
