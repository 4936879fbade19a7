#!/usr/bin/env bash
# Instructions per input byte of `Codec::feed` (32 KiB pieces, default config)
# over each real-text corpus, counted by callgrind: independent of machine
# load, so it can compare two builds on a busy machine. Each corpus runs
# through examples/feed_file.rs once and twice; the difference is one pass.
#
#   bash benches/realtext/callgrind.sh [CORPUS_DIR]   (default: target/corpora)
#
# Build the corpora first with benches/realtext/build-corpora.sh. Valgrind
# does not emulate AVX-512, so this counts the AVX2 level at best;
# UPCASE_FORCE_IMPLEMENTATION=portable counts the portable one. Prints a
# Markdown table, with two rows more: `random` (4 MiB of pseudo-random
# bytes, mostly ill-formed, from a fixed seed) and `ascii` (the English
# corpus without its non-ASCII bytes), when python3 and en.txt are there.
set -euo pipefail
cd "$(dirname "$0")/../.."
DIR=${1:-target/corpora}
command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind; }
cargo build --release --example feed_file -q
BIN=target/release/examples/feed_file
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# The instruction count callgrind reports in LOG.
collected() { grep -o 'Collected : [0-9]*' "$1" | awk '{ print $3 }'; }

shopt -s nullglob
files=("$DIR"/*.txt)
if ((${#files[@]} == 0)); then
    echo "no corpora in $DIR: run benches/realtext/build-corpora.sh $DIR" >&2
    exit 1
fi
if command -v python3 >/dev/null; then
    python3 -c 'import random, sys; sys.stdout.buffer.write(random.Random(15).randbytes(4 << 20))' \
        >"$TMP/random.txt"
    files+=("$TMP/random.txt")
fi
if [[ -f "$DIR/en.txt" ]]; then
    LC_ALL=C tr -d '\200-\377' <"$DIR/en.txt" >"$TMP/ascii.txt"
    files+=("$TMP/ascii.txt")
fi
echo "| corpus | bytes | non-ASCII bytes | instructions/byte |"
echo "|---|---:|---:|---:|"
for f in "${files[@]}"; do
    name=$(basename "$f" .txt)
    bytes=$(stat -c %s "$f")
    high=$(LC_ALL=C tr -d '\000-\177' <"$f" | wc -c)
    for rounds in 1 2; do
        valgrind --tool=callgrind --callgrind-out-file=/dev/null \
            "$BIN" "$f" "$rounds" >/dev/null 2>"$TMP/$name.$rounds.log"
    done
    ir=$(($(collected "$TMP/$name.2.log") - $(collected "$TMP/$name.1.log")))
    awk -v n="$name" -v b="$bytes" -v h="$high" -v ir="$ir" \
        'BEGIN { printf "| %s | %d | %.1f %% | %.2f |\n", n, b, 100 * h / b, ir / b }'
done
