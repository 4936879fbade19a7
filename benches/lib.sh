# Shared by benches/compare.sh and benches/tls.sh (sourced, not run): the
# settings, the release build, a scratch directory removed on exit, starting a
# server, and the alternating rounds of `upcase bench` scenarios against
# `upcase serve` and the Tokio echo server (cli/examples/echo.rs).
#
# The sourcing script sets BENCH_NAME (for messages) and RESULTS_NAME (the
# file under $CARGO_TARGET_DIR for raw results) first, and may set
# BENCH_FLAGS (extra `upcase bench` flags, e.g. --tls) before `run_rounds`.
# Sourcing defines functions and settings and makes the scratch directory
# $work; it runs nothing else.

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-3}      # seconds measured per run
WARMUP=${WARMUP:-0.5}        # seconds of load before measuring, per run
BENCH_THREADS=${BENCH_THREADS:-1}
# Payloads: the built-in `ascii` and `unicode`, plus `file` when PAYLOAD_FILE
# names a UTF-8 text file (`upcase bench --payload-file`), e.g. a real-text
# corpus from benches/realtext/build-corpora.sh. PAYLOADS=file runs only it.
PAYLOAD_FILE=${PAYLOAD_FILE:-}
PAYLOADS=${PAYLOADS:-ascii unicode${PAYLOAD_FILE:+ file}}
# SCENARIOS="stream-1 stream-8" runs only those scenarios (default: all).
SCENARIOS=${SCENARIOS:-}
PIN_CPU=${PIN_CPU:-}
pin=()
if [ -n "$PIN_CPU" ]; then pin=(taskset -c "$PIN_CPU"); fi
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}
RESULTS=${RESULTS:-$CARGO_TARGET_DIR/$RESULTS_NAME}
export CARGO_TERM_COLOR=never
BENCH_FLAGS=()

# need TOOL...: stops with a clear line when a tool is missing.
need() {
    local tool
    for tool; do
        command -v "$tool" >/dev/null || { echo "$BENCH_NAME needs $tool" >&2; exit 1; }
    done
}

# build_release: the `upcase` binary and the echo example, as $UPCASE and
# $ECHO.
build_release() {
    echo "building release binaries..." >&2
    cargo build --release --quiet -p upcase-cli --bin upcase --example echo
    UPCASE=$CARGO_TARGET_DIR/release/upcase
    ECHO=$CARGO_TARGET_DIR/release/examples/echo
}

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# stop_servers: ends every server started so far.
stop_servers() {
    kill "${pids[@]}" 2>/dev/null || true
    wait 2>/dev/null || true
    pids=()
}

# start NAME SUFFIX CMD...: runs a server, waits for its
# "listening on ADDR" line (followed by SUFFIX, e.g. " (tls)"), sets $ADDR
# and $PID.
start() {
    local name=$1 suffix=$2 log=$work/$1.log
    shift 2
    "${pin[@]}" "$@" >/dev/null 2>"$log" &
    PID=$!
    pids+=("$PID")
    for _ in $(seq 200); do
        # The address with its port (the line is written in one piece).
        ADDR=$(sed -n "s/.*listening on \([0-9.]*:[0-9][0-9]*\)$suffix\$/\1/p" "$log" | head -n1)
        [ -n "$ADDR" ] && return 0
        kill -0 "$PID" 2>/dev/null || break
        sleep 0.05
    done
    echo "$name did not start:" >&2
    cat "$log" >&2
    exit 1
}

# name|bench flags
scenarios=(
    "rr-1|--mode rr --connections 1 --size 64"
    "rr-100|--mode rr --connections 100 --size 64"
    "stream-1|--mode stream --connections 1 --size 65536"
    "stream-8|--mode stream --connections 8 --size 65536"
)

# server_addr SERVER: the address of `upcase` or `echo` (set UPCASE_ADDR and
# ECHO_ADDR after starting them).
server_addr() {
    if [ "$1" = upcase ]; then echo "$UPCASE_ADDR"; else echo "$ECHO_ADDR"; fi
}

# bench SERVER SCENARIO PAYLOAD FLAGS...: one verified `upcase bench` run,
# appended to $RESULTS as a JSON line.
bench() {
    local server=$1 scenario=$2 payload=$3 expect json source
    shift 3
    if [ "$server" = upcase ]; then expect=upper; else expect=echo; fi
    if [ "$payload" = file ]; then
        [ -n "$PAYLOAD_FILE" ] || { echo "PAYLOADS has file: set PAYLOAD_FILE" >&2; exit 1; }
        source=(--payload-file "$PAYLOAD_FILE")
    else
        source=(--payload "$payload")
    fi
    if ! json=$("${pin[@]}" "$UPCASE" --log-level warn bench --json --connect "$(server_addr "$server")" \
        "${BENCH_FLAGS[@]}" --expect "$expect" \
        "${source[@]}" --duration "$DURATION" --warmup "$WARMUP" \
        --threads "$BENCH_THREADS" "$@"); then
        echo "upcase bench failed against $server ($scenario $payload): $json" >&2
        exit 1
    fi
    printf '{"server":"%s","scenario":"%s","round":%d,"bench":%s}\n' \
        "$server" "$scenario" "$round" "$json" >>"$RESULTS"
}

# run_rounds [PER_ROUND EXTRA_RUNS]: ROUNDS rounds of every scenario and
# payload against both servers, alternating who goes first so slow drift
# favours neither. PER_ROUND, when given, is called after each round's
# scenarios with the round and the order ("upcase echo" or "echo upcase"),
# and counts as EXTRA_RUNS runs in the progress line.
run_rounds() {
    local per_round=${1:-} extra=${2:-0} entry name flags payload server order
    local -a chosen=() payloads
    read -ra payloads <<<"$PAYLOADS"
    for entry in "${scenarios[@]}"; do
        name=${entry%%|*}
        if [ -z "$SCENARIOS" ] || [[ " $SCENARIOS " == *" $name "* ]]; then chosen+=("$entry"); fi
    done
    [ ${#chosen[@]} -gt 0 ] || { echo "SCENARIOS=$SCENARIOS matches none of the scenarios" >&2; exit 1; }
    : >"$RESULTS"
    total=$((ROUNDS * (${#chosen[@]} * ${#payloads[@]} * 2 + extra)))
    done_runs=0
    for round in $(seq "$ROUNDS"); do
        if [ $((round % 2)) -eq 1 ]; then order="upcase echo"; else order="echo upcase"; fi
        for entry in "${chosen[@]}"; do
            name=${entry%%|*}
            flags=${entry#*|}
            for payload in "${payloads[@]}"; do
                for server in $order; do
                    done_runs=$((done_runs + 1))
                    printf '\r[%d/%d] round %d: %s %s %s   ' \
                        "$done_runs" "$total" "$round" "$server" "$name" "$payload" >&2
                    # shellcheck disable=SC2086
                    bench "$server" "$name" "$payload" $flags
                done
            done
        done
        if [ -n "$per_round" ]; then "$per_round" "$round" "$order"; fi
    done
    echo >&2
}

# machine [VERSION]: one line naming the machine (cores, CPU, kernel) and
# VERSION (the toolchain or TLS library measured with).
machine() {
    echo "$(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1), Linux $(uname -r), $1"
}
