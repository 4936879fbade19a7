#!/usr/bin/env python3
"""Reference measurement: StringZilla's UTF-8 case folding on real-text corpora.

    python3 benches/realtext/stringzilla.py [--runs N] target/corpora/*.txt
    python3 benches/realtext/stringzilla.py --upcase target/release/examples/feed_file \
        [--rounds R] target/corpora/*.txt

For each corpus file: throughput of StringZilla's case fold over the file cut
into 32 KiB pieces (cut at UTF-8 character boundaries, one call per piece)
and over the whole file in one call; median of N runs (default 9, at least 7)
after one warm-up run. GB/s = input bytes / time / 1e9.

With --upcase BIN (build it with `cargo build --release --example feed_file`),
upcase's `Codec::feed` over the same 32 KiB pieces and StringZilla's fold run
side by side instead: R rounds (default 5), each corpus alternating between the
two (upcase: the median of N passes inside `BIN FILE N --time`; StringZilla:
the median of N runs here), and the table gives the median of the rounds for
each and their ratio.

StringZilla has no uppercase function; its case *fold* (full Unicode folding,
one-to-many expansions such as "ß" -> "ss") is the nearest operation to
upcase's uppercasing, so the figures are a reference point, not a like-for-like
comparison. Installs the `stringzilla` wheel with pip if it is missing (binary
wheels only: nothing is compiled).
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

PIECE = 32 * 1024


def load_stringzilla():
    # This file is itself named stringzilla.py: keep its directory off the
    # import path so that `import stringzilla` finds the package.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    try:
        import stringzilla  # noqa: F401
    except ImportError:
        print("stringzilla missing: pip install --only-binary :all: stringzilla", file=sys.stderr)
        subprocess.check_call([sys.executable, "-m", "pip", "install", "-q",
                               "--only-binary", ":all:", "stringzilla"])
    import stringzilla as sz
    return sz


def find_fold(sz):
    """The case-fold entry point of the installed version (its name changed over time)."""
    for name in ("utf8_uncased_fold", "utf8_case_fold", "utf8_fold", "case_fold"):
        fn = getattr(sz, name, None)
        if callable(fn):
            return name, fn
    offered = sorted(n for n in dir(sz) if not n.startswith("_"))
    sys.exit(f"stringzilla {getattr(sz, '__version__', '?')} has no case fold; it offers: "
             + ", ".join(offered))


def pieces(data, size):
    """Split bytes into pieces of at most `size` bytes at UTF-8 character boundaries."""
    out, i, n = [], 0, len(data)
    while i < n:
        j = min(i + size, n)
        while j < n and j > i and (data[j] & 0xC0) == 0x80:  # continuation byte
            j -= 1
        out.append(data[i:j])
        i = j
    return out


def median_seconds(fn, runs):
    fn()  # warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter_ns()
        fn()
        times.append(time.perf_counter_ns() - t0)
    return statistics.median(times) / 1e9


def upcase_gbps(binary, path, runs):
    """upcase's throughput on `path`: the median of `runs` passes, timed by BIN itself."""
    out = subprocess.run([binary, path, str(runs), "--time"], check=True,
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.startswith("GB/s "):
            return float(line.split()[1])
    sys.exit(f"{binary} printed no 'GB/s' line (build it from this tree): {out!r}")


def side_by_side(fold, binary, files, runs, rounds):
    """upcase and StringZilla alternated per corpus, medians of the rounds."""
    print(f"{'corpus':<10} {'bytes':>9} {'upcase GB/s':>12} {'sz GB/s':>8} {'upcase/sz':>10}")
    for path in files:
        with open(path, "rb") as f:
            data = f.read()
        data.decode("utf-8")
        parts = pieces(data, PIECE)

        def run_pieces():
            for p in parts:
                fold(p)

        ours, theirs = [], []
        for _ in range(rounds):
            ours.append(upcase_gbps(binary, path, runs))
            theirs.append(len(data) / median_seconds(run_pieces, runs) / 1e9)
        u, z = statistics.median(ours), statistics.median(theirs)
        print(f"{os.path.basename(path):<10} {len(data):>9} {u:>12.3f} {z:>8.3f} {u / z:>10.2f}",
              flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--upcase", metavar="BIN", help="examples/feed_file binary: run side by side")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()
    runs = max(7, args.runs)

    sz = load_stringzilla()
    name, fold = find_fold(sz)
    if args.upcase:
        print(f"# upcase {args.upcase} vs stringzilla {sz.__version__} sz.{name}, 32 KiB pieces, "
              f"median of {max(1, args.rounds)} alternating rounds of {runs} runs", flush=True)
        side_by_side(fold, args.upcase, args.files, runs, max(1, args.rounds))
        return
    print(f"# stringzilla {sz.__version__}, sz.{name}(bytes), median of {runs} runs", flush=True)
    print(f"{'corpus':<10} {'bytes':>9} {'piece':>6} {'GB/s':>7}")
    for path in args.files:
        with open(path, "rb") as f:
            data = f.read()
        data.decode("utf-8")  # corpora must be valid UTF-8
        parts = pieces(data, PIECE)
        assert b"".join(parts) == data

        def run_pieces():
            for p in parts:
                fold(p)

        def run_whole():
            fold(data)

        corpus = os.path.basename(path)
        for label, fn in (("32KiB", run_pieces), ("whole", run_whole)):
            secs = median_seconds(fn, runs)
            print(f"{corpus:<10} {len(data):>9} {label:>6} {len(data) / secs / 1e9:>7.3f}", flush=True)


if __name__ == "__main__":
    main()
