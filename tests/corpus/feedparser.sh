#!/bin/sh
# Measures revierfeed against Python feedparser over feedparser's own test
# corpus (BSD-2-Clause, kept in the sdist with its LICENSE). Downloads the
# sdist from PyPI into DIR (default target/feedparser-corpus; nothing here is
# committed), installs feedparser from it (and chardet, which feedparser uses
# for undeclared encodings) into a venv as the oracle, writes
# what it reads to DIR/feedparser-$VERSION/expectations.jsonl and runs the
# ignored Rust test tests/feedparser_corpus.rs over the same files.
#
#   tests/corpus/feedparser.sh [DIR]
#   REVIERFEED_CORPUS_VERBOSE=1 tests/corpus/feedparser.sh   # every disagreement
set -eu
VERSION=6.0.11
CHARDET=5.2.0
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
dir=${1:-$repo/target/feedparser-corpus}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
root=$dir/feedparser-$VERSION
if [ ! -d "$root/tests" ]; then
    pip download --quiet --no-deps --no-binary :all: "feedparser==$VERSION" -d "$dir"
    tar -xzf "$dir/feedparser-$VERSION.tar.gz" -C "$dir"
fi
if [ ! -x "$dir/venv/bin/python" ]; then
    python3 -m venv "$dir/venv"
    "$dir/venv/bin/pip" install --quiet "$dir/feedparser-$VERSION.tar.gz"
fi
# feedparser detects undeclared encodings only with chardet installed; without
# it the oracle reads undeclared CJK and KOI8-R bytes as windows-1252.
if ! "$dir/venv/bin/python" -c "import chardet" 2>/dev/null; then
    "$dir/venv/bin/pip" install --quiet "chardet==$CHARDET"
fi
"$dir/venv/bin/python" "$here/feedparser_oracle.py" "$root/tests" "$root/expectations.jsonl"
cd "$repo"
REVIERFEED_CORPUS=$root cargo test --test tests feedparser_corpus -- --ignored --nocapture
