"""Writes what feedparser (the oracle) reads in each file of its own test corpus.

Usage: python feedparser_oracle.py CORPUS_TESTS_DIR OUT_JSONL

One JSON object per feed file: its path relative to CORPUS_TESTS_DIR, the
Content-Type its `Header:` comment gives (as feedparser's own test server
would send it), how many entries feedparser finds, how many of those have a
title, link or text, and each entry's title with its detected type and its link.
"""

import json
import os
import re
import sys

import feedparser

HEADER = re.compile(rb"^Header:\s+([^:]+):(.+)$", re.MULTILINE)
# The directories whose files are feeds (http/ and compression/ test the transport).
FEED_DIRS = ("wellformed", "illformed", "encoding", "entities")


def content_type_of(raw):
    for name, value in HEADER.findall(raw):
        if name.strip().lower() == b"content-type":
            return value.strip().decode("latin-1")
    return None


def main(root, out_path):
    with open(out_path, "w", encoding="utf-8") as out:
        for feed_dir in FEED_DIRS:
            for dirpath, _, files in sorted(os.walk(os.path.join(root, feed_dir))):
                for name in sorted(files):
                    if not name.endswith(".xml"):
                        continue
                    path = os.path.join(dirpath, name)
                    with open(path, "rb") as f:
                        raw = f.read()
                    ct = content_type_of(raw)
                    headers = {"content-type": ct} if ct else {}
                    try:
                        parsed = feedparser.parse(raw, response_headers=headers)
                    except Exception as err:  # feedparser's own SGML fallback can raise
                        print(f"feedparser fails on {path}: {err!r}", file=sys.stderr)
                        continue
                    entries = []
                    for e in parsed.entries:
                        detail = e.get("title_detail") or {}
                        has_text = bool(e.get("summary") or e.get("content"))
                        entries.append(
                            {
                                "title": e.get("title"),
                                "link": e.get("link"),
                                "title_type": detail.get("type"),
                                "substantial": bool(e.get("title") or e.get("link") or has_text),
                            }
                        )
                    record = {
                        "path": os.path.relpath(path, root),
                        "content_type": ct,
                        "version": parsed.get("version", ""),
                        "bozo": bool(parsed.get("bozo")),
                        "entries": entries,
                    }
                    out.write(json.dumps(record, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
