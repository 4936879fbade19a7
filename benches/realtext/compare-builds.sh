#!/usr/bin/env bash
# Two builds of examples/feed_file against each other on every corpus, plus
# 4 MiB of pseudo-random bytes and the English corpus without its non-ASCII
# bytes: the median user CPU time of 5 alternated runs each, in GB/s, and
# new ÷ old. Rounds per run are chosen so one run takes about 0.4 s.
#
#   cargo build --release --example feed_file && cp target/release/examples/feed_file /tmp/new
#   (the same from the older commit into /tmp/old)
#   bash benches/realtext/compare-builds.sh /tmp/old /tmp/new [CORPUS_DIR]
#
# User time ticks coarsely on some VMs (4–10 ms), hence the long runs. Run
# it on an otherwise idle machine.
set -euo pipefail
OLD=$1 NEW=$2 DIR=${3:-target/corpora}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
python3 -c 'import random, sys; sys.stdout.buffer.write(random.Random(15).randbytes(4 << 20))' >"$TMP/random.txt"
LC_ALL=C tr -d '\200-\377' <"$DIR/en.txt" >"$TMP/ascii.txt"
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
user_seconds() { { /usr/bin/time -f %U "$@" >/dev/null; } 2>&1 | tail -n1; }
echo "| corpus | rounds | old GB/s | new GB/s | new ÷ old |"
echo "|---|---:|---:|---:|---:|"
for f in "$DIR"/*.txt "$TMP/random.txt" "$TMP/ascii.txt"; do
    name=$(basename "$f" .txt)
    size=$(stat -c %s "$f")
    t=$(user_seconds "$OLD" "$f" 20)
    rounds=$(awk -v t="$t" 'BEGIN { r = int(8 / (t > 0.005 ? t : 0.005)); print (r < 20 ? 20 : r) }')
    : >"$TMP/old" && : >"$TMP/new"
    for _ in 1 2 3 4 5; do
        user_seconds "$OLD" "$f" "$rounds" >>"$TMP/old"
        user_seconds "$NEW" "$f" "$rounds" >>"$TMP/new"
    done
    o=$(median <"$TMP/old") n=$(median <"$TMP/new")
    awk -v c="$name" -v r="$rounds" -v o="$o" -v n="$n" -v s="$size" \
        'BEGIN { printf "| %s | %d | %.2f | %.2f | %.2f |\n", c, r, r * s / o / 1e9, r * s / n / 1e9, o / n }'
done
