#!/usr/bin/env bash
# Instructions per stored item, by stage, of `benchkit ingest` under
# callgrind: the work an ingest does, counted the same way on any machine
# and in any hour. The native figure (`ab_ingest.sh`) moves by ±15 % with
# this kind of machine's speed, more than most single changes; this count
# moves only with the code. It misses what the kernel does (writes, page
# faults) and what waiting costs, so a change is judged by both.
#
# Both pipelines of the run (one thread, and overlapped as in the daemon)
# ingest every item, and feed-rs alone parses each document twice more;
# the stages are inclusive, so they overlap (the dialect pass and feed-rs
# are inside parsing, the signature inside preparing, SQLite inside the
# writer). sha2 runs its portable code under valgrind: its share is
# overstated against a native run (BENCHMARKS.md, session 30).
#
# Usage: benches/scripts/work.sh BENCHKIT...   (DIR=… FEEDS=50 ITEMS=100)
# Needs: valgrind.
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 BENCHKIT..." >&2; exit 2; }
command -v valgrind >/dev/null || { echo "missing valgrind: apt-get install valgrind" >&2; exit 1; }
DIR=${DIR:-target/bench-work}
FEEDS=${FEEDS:-50}
ITEMS=${ITEMS:-100}
mkdir -p "$DIR"
stages=(
    "whole run|PROGRAM TOTALS"
    "parsing (read_xml, both pipelines)|revierfeed::extract::feed::read_xml "
    "  the dialect pass|revierfeed::extract::feed::dialect::upgrade "
    "  feed-rs|revierfeed::extract::feed::run_feed_rs "
    "normalising|revierfeed::normalize::normalize_item "
    "preparing for the writer|revierfeed::store::Store>::prepare_ingest "
    "  story signatures|revierfeed::story::analysis::signature "
    "the writer's transactions|revierfeed::store::ingest::try_group "
    "  SQLite statements|sqlite3_step "
    "  story matching|revierfeed::story::story_to_join "
)
stored=$((2 * FEEDS * ITEMS))
for bin in "$@"; do
    out="$DIR/callgrind.$(basename "$bin").$$"
    valgrind --tool=callgrind --callgrind-out-file="$out" "$bin" ingest "$DIR/db" \
        --feeds "$FEEDS" --items "$ITEMS" --runs 1 >/dev/null 2>&1
    report=$(callgrind_annotate --inclusive=yes "$out" 2>/dev/null)
    echo "$bin ($FEEDS feeds × $ITEMS items, stored twice): instructions per stored item"
    for stage in "${stages[@]}"; do
        name=${stage%%|*}
        symbol=${stage#*|}
        ir=$(grep -F -- "$symbol" <<<"$report" | head -1 | awk '{gsub(",", "", $1); print $1}')
        if [ -z "$ir" ]; then
            # A renamed or inlined function: said, not counted as no work.
            printf '  %-38s %10s (no function %s in the profile)\n' "$name" "-" "$symbol"
            continue
        fi
        printf '  %-38s %10.0f\n' "$name" "$(bc -l <<<"$ir / $stored")"
    done
    rm -f "$out"
done
