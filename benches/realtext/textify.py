#!/usr/bin/env python3
"""Helper for build-corpora.sh: turn documentation files into plain UTF-8 text.

  textify.py html|mallard [--ref REF] [--ref-out OUT] FILE...   (HTML / Mallard .page)
  textify.py mo FILE...                                         (gettext catalogs: msgstr text)
  textify.py man [--max BYTES] FILE...                         (man pages via groff)
  textify.py l10n FILE...                                       (Mozilla .xpi: .ftl/.properties values)
  textify.py assemble OUT CAP SRC...                            (mix sources, cap, UTF-8 check)

Text goes to stdout, one paragraph per block, blocks separated by a blank
line. --ref names a file of English paragraphs (one per line, whitespace
collapsed): paragraphs found there are untranslated fallback and are dropped.
"""
import gettext
import gzip
import html.parser
import io
import os
import re
import subprocess
import sys
import zipfile

BLOCK = {
    # HTML
    "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "dt", "dd", "pre",
    "td", "th", "tr", "table", "blockquote", "br", "ul", "ol", "dl", "title",
    "body", "section", "article", "caption", "figcaption", "hr",
    # Mallard
    "page", "desc", "item", "screen", "note", "list", "steps", "terms",
    "example", "listing", "synopsis", "figure", "media", "links", "tree",
    "comment", "cite", "quote", "subtitle",
}
VERBATIM = {"pre", "screen", "programlisting", "synopsis"}
SKIP_TAGS = {"head", "script", "style", "info", "noscript", "svg", "math", "header",
             "footer", "aside", "nav", "button"}
SKIP_CLASSES = {"docnav", "toc", "navheader", "navfooter", "breadcrumbs", "index",
                "footer", "header", "legalnotice", "copyright"}
SKIP_IDS = {"banner", "title"}
VOID = {"br", "img", "meta", "link", "hr", "input", "area", "base", "col",
        "embed", "param", "source", "track", "wbr"}


def norm(s):
    return " ".join(s.split())


class Extract(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.blocks = []
        self.cur = []
        self.skip_tag = None
        self.skip_depth = 0
        self.verbatim = 0

    def flush(self):
        text = "".join(self.cur)
        self.cur = []
        if self.verbatim:
            text = text.strip("\n")
            if text.strip():
                self.blocks.append(text)
        else:
            text = norm(text)
            if text:
                self.blocks.append(text)

    def handle_starttag(self, tag, attrs):
        if self.skip_tag:
            if tag == self.skip_tag and tag not in VOID:
                self.skip_depth += 1
            return
        a = dict(attrs)
        classes = set((a.get("class") or "").split())
        if tag in SKIP_TAGS or classes & SKIP_CLASSES or a.get("id") in SKIP_IDS:
            if tag not in VOID:
                self.skip_tag, self.skip_depth = tag, 1
            return
        if tag in BLOCK or tag in VERBATIM:
            self.flush()
        if tag in VERBATIM:
            self.verbatim += 1

    def handle_startendtag(self, tag, attrs):
        if not self.skip_tag and tag in BLOCK:
            self.flush()

    def handle_endtag(self, tag):
        if self.skip_tag:
            if tag == self.skip_tag:
                self.skip_depth -= 1
                if self.skip_depth == 0:
                    self.skip_tag = None
            return
        if tag in BLOCK or tag in VERBATIM:
            self.flush()
        if tag in VERBATIM and self.verbatim:
            self.verbatim -= 1

    def handle_data(self, data):
        if not self.skip_tag:
            self.cur.append(data)


def expand(paths, want):
    """Files named by paths; directories are walked (sorted) for files that want() accepts."""
    out = []
    for p in paths:
        if os.path.isdir(p):
            found = []
            for d, _, names in os.walk(p):
                found += [os.path.join(d, n) for n in names if want(d, n)]
            out += sorted(found)
        elif os.path.exists(p) or os.path.islink(p):
            out.append(p)
    return out


def read_utf8(path):
    with open(path, "rb") as f:
        data = f.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        print(f"textify: dropped (invalid UTF-8): {path}", file=sys.stderr)
        return None


def markup(args, exts):
    ref, ref_out, files = set(), None, []
    i = 0
    while i < len(args):
        if args[i] == "--ref":
            with open(args[i + 1], encoding="utf-8") as f:
                ref = {line.rstrip("\n") for line in f}
            i += 2
        elif args[i] == "--ref-out":
            ref_out = open(args[i + 1], "w", encoding="utf-8")
            i += 2
        else:
            files.append(args[i])
            i += 1
    files = expand(files, lambda d, n: n.endswith(exts))
    kept = dropped = 0
    out = sys.stdout
    for path in files:
        text = read_utf8(path)
        if text is None:
            continue
        p = Extract()
        try:
            p.feed(text)
            p.close()
            p.flush()
        except Exception as e:  # malformed markup: skip the file
            print(f"textify: dropped ({e}): {path}", file=sys.stderr)
            continue
        for b in p.blocks:
            n = norm(b)
            if ref_out:
                ref_out.write(n + "\n")
            if n in ref:
                dropped += len(b.encode())
                continue
            kept += len(b.encode())
            out.write(b + "\n\n")
    if ref:
        print(f"textify: kept {kept} B, dropped {dropped} B of untranslated "
              f"(English) paragraphs", file=sys.stderr)


ACCEL = re.compile(r"~|(?<![A-Za-z0-9_])_(?=\w)")


def mo(files):
    seen = set()
    files = expand(files, lambda d, n: n.endswith(".mo"))
    for path in files:
        try:
            with open(path, "rb") as f:
                cat = gettext.GNUTranslations(f)._catalog
        except Exception as e:
            print(f"textify: dropped ({e}): {path}", file=sys.stderr)
            continue
        for key, msgstr in cat.items():
            msgid = key[0] if isinstance(key, tuple) else key
            if not msgid or not msgstr or msgstr == msgid:
                continue
            s = ACCEL.sub("", msgstr).strip()
            if s and s not in seen:
                seen.add(s)
                sys.stdout.write(s + "\n")


TAG = re.compile(r"</?[a-zA-Z][^<>]*>")
PROP_ESC = re.compile(r"\\u([0-9a-fA-F]{4})")


def l10n(files):
    """Values of Fluent (.ftl) and .properties files inside Mozilla .xpi packs."""
    seen = set()
    files = expand(files, lambda d, n: n.endswith(".xpi"))

    def emit(s):
        s = TAG.sub("", s).strip()
        if s and s not in seen and re.search(r"[^\x00-\x7f]", s):
            seen.add(s)
            sys.stdout.write(s + "\n")

    for path in files:
        with zipfile.ZipFile(path) as z:
            for name in sorted(z.namelist()):
                if not name.endswith((".ftl", ".properties")):
                    continue
                try:
                    text = z.read(name).decode("utf-8")
                except UnicodeDecodeError:
                    continue
                if name.endswith(".properties"):
                    for line in text.splitlines():
                        if "=" in line and not line.lstrip().startswith("#"):
                            v = line.split("=", 1)[1]
                            emit(PROP_ESC.sub(lambda m: chr(int(m.group(1), 16)), v))
                    continue
                value = None
                for line in text.splitlines():
                    attr = re.match(r"^\s+\.([\w-]+)\s*=\s*(.*)$", line)
                    if attr or not line.startswith((" ", "\t")):
                        if value:
                            emit(" ".join(value))
                        value = None
                    if attr:
                        if not attr.group(1).endswith("key"):  # accesskey, commandkey
                            value = [attr.group(2)]
                    elif line.startswith((" ", "\t")):
                        if value is not None:
                            value.append(line.strip())
                    else:
                        m = re.match(r"^-?[A-Za-z][\w-]*\s*=\s*(.*)$", line)
                        value = [m.group(1)] if m else None
                if value:
                    emit(" ".join(value))

CHARSET_PAGES = re.compile(
    r"^(ascii|charsets|armscii-8|cp125\d|koi8-[ru]|iso[_-]?8859.*|latin\d+|"
    r"utf-?8|unicode|georgian.*)\.\d")
SPACE_RUN = re.compile(r" {4,}")
BOX_RUN = re.compile(r"([\u2500-\u257f])\1{3,}")
RULE_LINE = re.compile(r"^[\s\u2500-\u257f|+=_-]*$")
GROFF = ["groff", "-k", "-K", "utf-8", "-t", "-man", "-Tutf8", "-P-cbou",
         "-rLL=3000n", "-rcR=1", "-rHY=0"]


def man(args):
    """Render man pages with groff to plain UTF-8 text, until --max bytes."""
    limit, files = 1 << 62, []
    i = 0
    while i < len(args):
        if args[i] == "--max":
            limit = int(args[i + 1])
            i += 2
        else:
            files.append(args[i])
            i += 1
    files = expand(files, lambda d, n: os.path.basename(d).startswith("man"))
    total = 0
    for path in files:
        name = os.path.basename(path)
        if os.path.islink(path) or CHARSET_PAGES.match(name):
            continue
        with open(path, "rb") as f:
            src = f.read()
        if path.endswith(".gz"):
            src = gzip.decompress(src)
        if src.lstrip().startswith(b".so "):  # alias page: the target is rendered itself
            continue
        try:
            src.decode("utf-8")
        except UnicodeDecodeError:
            print(f"textify: dropped (invalid UTF-8): {path}", file=sys.stderr)
            continue
        try:
            r = subprocess.run(GROFF, input=src, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, timeout=60)
            text = r.stdout.decode("utf-8")
        except (subprocess.TimeoutExpired, UnicodeDecodeError):
            print(f"textify: dropped (groff failed): {path}", file=sys.stderr)
            continue
        # Tables are stretched to the (huge) line length: shrink their padding.
        lines = [BOX_RUN.sub(r"\1\1\1", SPACE_RUN.sub("   ", l.strip()))
                 for l in text.splitlines()]
        lines = [l for l in lines if l == "" or not RULE_LINE.match(l)]
        body = [l for l in lines if l]
        if len(body) < 4:
            continue
        # drop the header and footer lines (page title, date, source)
        first = lines.index(body[0])
        last = len(lines) - 1 - lines[::-1].index(body[-1])
        out = re.sub(r"\n{3,}", "\n\n", "\n".join(lines[first + 1:last]).strip("\n"))
        out += "\n\n"
        sys.stdout.write(out)
        total += len(out.encode())
        if total >= limit:
            break


def cut(data, limit):
    """Longest prefix of data, at most limit bytes, ending on a line break."""
    if len(data) <= limit:
        return data
    k = data.rfind(b"\n", 0, limit)
    return data[: k + 1] if k > 0 else b""


def assemble(out, cap, srcs):
    cap = int(cap)
    texts = []
    for s in srcs:
        try:
            with open(s, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            continue
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            print(f"textify: dropped source (invalid UTF-8): {s}", file=sys.stderr)
            continue
        data = re.sub(rb"\n{3,}", b"\n\n", data)
        if data.strip():
            texts.append((os.path.basename(s).rsplit(".", 1)[0], data))
    # Share the cap fairly: small sources go whole, large ones split what is left.
    order = sorted(range(len(texts)), key=lambda i: len(texts[i][1]))
    left, share = cap, {}
    for n, i in enumerate(order):
        quota = left // (len(order) - n)
        share[i] = cut(texts[i][1], quota)
        left -= len(share[i])
    body = b"".join(share[i] for i in range(len(texts)))
    body.decode("utf-8")  # assert: valid UTF-8
    with open(out, "wb") as f:
        f.write(body)
    used = ",".join(f"{texts[i][0]}:{len(share[i]) // 1024}K" for i in range(len(texts)))
    nonascii = sum(1 for b in body if b >= 0x80)
    lang = os.path.basename(out).split(".")[0]
    pct = 100.0 * nonascii / len(body) if body else 0.0
    print(f"{lang:<4} {len(body):>9} {pct:6.1f}%  {used}", flush=True)


def main():
    mode, args = sys.argv[1], sys.argv[2:]
    sys.stdout = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="\n")
    if mode == "html":
        markup(args, (".html", ".htm"))
    elif mode == "mallard":
        markup(args, (".page",))
    elif mode == "mo":
        mo(args)
    elif mode == "man":
        man(args)
    elif mode == "l10n":
        l10n(args)
    elif mode == "assemble":
        assemble(args[0], args[1], args[2:])
    else:
        sys.exit(f"textify: unknown mode {mode}")


if __name__ == "__main__":
    main()
