#!/usr/bin/env bash
# Build real-text UTF-8 corpora (one <lang>.txt per language, 1-4 MB each) from
# translated documentation shipped in Debian 12 packages. Needs root (apt-get),
# network access to the Debian archive only. See README.md in this directory.
#
#   bash benches/realtext/build-corpora.sh [OUTDIR]      (default: target/corpora)
#
# Environment: CORPUS_CAP (bytes per corpus, default 4 MiB),
#              CORPUS_LANGS (space-separated subset, default: all below).
# Downloaded .deb files are kept in OUTDIR/.debs so that a rerun does not
# download again; everything else is rebuilt from them in a temp dir. Corpus
# text is build output: never commit it.
set -euo pipefail

OUT=${1:-target/corpora}
CAP=${CORPUS_CAP:-4194304}
LANGS=${CORPUS_LANGS:-"en de fr pl cs ru uk el zh ja ko hi ar he tr vi hy"}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TEXTIFY="$HERE/textify.py"

log() { printf '%s\n' "$*" >&2; }

# --- tools ------------------------------------------------------------------
missing=()
command -v python3 >/dev/null || missing+=(python3)
command -v groff >/dev/null || missing+=(groff-base)
command -v dpkg-deb >/dev/null || missing+=(dpkg)
if ((${#missing[@]})); then
  log "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
# apt-get download needs package lists.
if ! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; then
  apt-get update -qq
fi

mkdir -p "$OUT/.debs"
OUT=$(cd "$OUT" && pwd)
DEBS=$OUT/.debs
WORK=$(mktemp -d "${TMPDIR:-/tmp}/corpora.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
ROOT=$WORK/root   # one extraction dir per package: $ROOT/<pkg>/...
SRC=$WORK/src     # extracted text: $SRC/<lang>/<source>.txt
REF=$WORK/ref     # English paragraphs, to drop untranslated fallback text
mkdir -p "$ROOT" "$SRC" "$REF"
export LC_ALL=C.UTF-8

# pkg PKG...: download (cached) and unpack each package into $ROOT/PKG.
# Returns non-zero if any package is unavailable.
pkg() {
  local p f rc=0
  for p in "$@"; do
    [[ -d $ROOT/$p ]] && continue
    f=$(apt-get download --print-uris "$p" 2>/dev/null | awk 'NR==1{print $2}')
    if [[ -z $f ]]; then
      log "warning: package $p not available, skipped"
      rc=1
      continue
    fi
    if [[ ! -s $DEBS/$f ]]; then
      (cd "$DEBS" && apt-get download -q -o APT::Sandbox::User=root "$p" >/dev/null 2>&1) || true
    fi
    if [[ ! -s $DEBS/$f ]]; then
      log "warning: download of $p failed, skipped"
      rc=1
      continue
    fi
    mkdir -p "$ROOT/$p"
    dpkg-deb -x "$DEBS/$f" "$ROOT/$p"
  done
  return $rc
}

tx() { python3 "$TEXTIFY" "$@"; }

# --- English reference paragraphs (also the English sources) ---------------
HB=$ROOT/debian-handbook/usr/share/doc/debian-handbook/html
IG=$ROOT/installation-guide-amd64/usr/share/doc/installation-guide-amd64
GH=$ROOT/gnome-user-docs/usr/share/help
LOH=usr/share/libreoffice/help

ref() { # ref NAME: build $REF/NAME.ref (+ $REF/NAME.txt) once
  local name=$1
  [[ -f $REF/$name.ref ]] && return 0
  case $name in
    hb) pkg debian-handbook && tx html --ref-out "$REF/hb.ref" "$HB/en-US" >"$REF/hb.txt" ;;
    ig) pkg installation-guide-amd64 && tx html --ref-out "$REF/ig.ref" "$IG/en" >"$REF/ig.txt" ;;
    gh) pkg gnome-user-docs && tx mallard --ref-out "$REF/gh.ref" "$GH/C" >"$REF/gh.txt" ;;
    lo) pkg libreoffice-help-en-us &&
          tx html --ref-out "$REF/lo.ref" "$ROOT/libreoffice-help-en-us/$LOH/en-US/text" >"$REF/lo.txt" ;;
  esac
}

# --- sources: each writes $SRC/$L/<name>.txt ---------------------------------
# Translated HTML / Mallard: paragraphs identical to the English original are
# untranslated fallback and are dropped.
src_handbook() { ref hb && tx html --ref "$REF/hb.ref" "$HB/$1" >"$SRC/$L/debian-handbook.txt"; }
src_install() { ref ig && tx html --ref "$REF/ig.ref" "$IG/$1" >"$SRC/$L/installation-guide-amd64.txt"; }
src_gnome() { ref gh && tx mallard --ref "$REF/gh.ref" "$GH/$1" >"$SRC/$L/gnome-user-docs.txt"; }
src_lohelp() { # src_lohelp PKG-SUFFIX DIR
  local p=libreoffice-help-$1
  ref lo && pkg "$p" && tx html --ref "$REF/lo.ref" "$ROOT/$p/$LOH/$2/text" >"$SRC/$L/$p.txt"
}
src_man() { # src_man MANDIR PKG...   (MANDIR: de, pl, zh_CN, ... or "" for English)
  local dir=$1 p dirs=()
  shift
  pkg "$@" || true
  for p in "$@"; do
    [[ -d $ROOT/$p/usr/share/man/$dir ]] && dirs+=("$ROOT/$p/usr/share/man/$dir")
  done
  ((${#dirs[@]})) && tx man --max "$CAP" "${dirs[@]}" >"$SRC/$L/$(IFS=+; echo "$*").txt"
}
src_mo() { pkg "$@" || true; local a=(); for p in "$@"; do [[ -d $ROOT/$p ]] && a+=("$ROOT/$p"); done
  ((${#a[@]})) && tx mo "${a[@]}" >"$SRC/$L/$(IFS=+; echo "$*").txt"; }
src_moz() { pkg "$@" || true; local a=(); for p in "$@"; do [[ -d $ROOT/$p ]] && a+=("$ROOT/$p"); done
  ((${#a[@]})) && tx l10n "${a[@]}" >"$SRC/$L/$(IFS=+; echo "$*").txt"; }

src_english() { ref "$1" && cp "$REF/$1.txt" "$SRC/$L/$2.txt"; }

# Run one source; a failing source is reported and skipped.
try() { "$@" || log "warning: $L: source '$*' failed, skipped"; }

sources() {
  case $L in
    en) try src_english hb debian-handbook; try src_english ig installation-guide-amd64
        try src_man "" manpages manpages-dev ;;
    de) try src_handbook de-DE; try src_install de; try src_man de manpages-de manpages-de-dev; try src_gnome de ;;
    fr) try src_handbook fr-FR; try src_install fr; try src_man fr manpages-fr manpages-fr-dev; try src_gnome fr ;;
    pl) try src_handbook pl-PL; try src_man pl manpages-pl manpages-pl-dev; try src_gnome pl; try src_lohelp pl pl ;;
    cs) try src_handbook cs-CZ; try src_install cs; try src_man cs manpages-cs manpages-cs-dev; try src_gnome cs
        try src_lohelp cs cs ;;
    ru) try src_handbook ru-RU; try src_install ru; try src_man ru manpages-ru manpages-ru-dev; try src_gnome ru ;;
    uk) try src_man uk manpages-uk manpages-uk-dev; try src_gnome uk; try src_mo libreoffice-l10n-uk ;;
    el) try src_handbook el-GR; try src_install el; try src_man el manpages-el; try src_gnome el; try src_lohelp el el ;;
    zh) try src_handbook zh-CN; try src_install zh_CN; try src_man zh_CN manpages-zh; try src_gnome zh_CN ;;
    ja) try src_handbook ja-JP; try src_install ja; try src_man ja manpages-ja manpages-ja-dev; try src_gnome ja ;;
    ko) try src_handbook ko-KR; try src_install ko; try src_gnome ko; try src_lohelp ko ko ;;
    hi) try src_lohelp hi hi; try src_mo libreoffice-l10n-hi; try src_gnome hi; try src_moz firefox-esr-l10n-hi-in ;;
    ar) try src_handbook ar-MA; try src_mo libreoffice-l10n-ar; try src_moz firefox-esr-l10n-ar thunderbird-l10n-ar ;;
    he) try src_mo libreoffice-l10n-he; try src_gnome he; try src_moz firefox-esr-l10n-he thunderbird-l10n-he ;;
    tr) try src_handbook tr-TR; try src_man tr manpages-tr; try src_lohelp tr tr; try src_gnome tr ;;
    vi) try src_handbook vi-VN; try src_install vi; try src_man vi manpages-vi; try src_gnome vi; try src_lohelp vi vi ;;
    hy) try src_moz firefox-esr-l10n-hy-am thunderbird-l10n-hy-am ;;
    *) log "warning: no sources known for language '$L'" ;;
  esac
}

printf '%-4s %9s %7s  %s\n' lang bytes nonascii "sources (KiB used)"
for L in $LANGS; do
  mkdir -p "$SRC/$L"
  log "building $L ..."
  sources
  mapfile -t files < <(find "$SRC/$L" -name '*.txt' -size +0 | sort)
  if ((${#files[@]} == 0)); then
    log "warning: $L: no text found, no corpus written"
    continue
  fi
  # Writes $OUT/$L.txt atomically: fair share of CAP per source, cut at line
  # ends, checked to be valid UTF-8; prints the summary line.
  tx assemble "$OUT/$L.txt.tmp" "$CAP" "${files[@]}"
  mv "$OUT/$L.txt.tmp" "$OUT/$L.txt"
  # Free disk early: LibreOffice help trees are large.
  rm -rf "$SRC/$L"
done
