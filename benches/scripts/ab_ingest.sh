#!/usr/bin/env bash
# `benchkit ingest` of several benchkit binaries, alternated round by round:
# on a machine whose speed drifts between runs, only binaries timed side by
# side compare. One line per run: feed-rs alone (items/s), the one-thread
# pipeline's CPU seconds, the overlapped run's items/s and CPU seconds, and
# the whole process's user and system time.
#
# Usage: benches/scripts/ab_ingest.sh ROUNDS BENCHKIT...   (DIR=… FEEDS=… ITEMS=…)
set -euo pipefail
ROUNDS=${1:?rounds}
shift
DIR=${DIR:-target/bench-ab-ingest}
FEEDS=${FEEDS:-1000}
ITEMS=${ITEMS:-100}
# Per binary, its overlapped items/s round by round (for the summary).
declare -A rates
for round in $(seq "$ROUNDS"); do
    for bin in "$@"; do
        out=$(/usr/bin/time -f "user %U sys %S" "$bin" ingest "$DIR" --feeds "$FEEDS" --items "$ITEMS" --runs 1 2>&1)
        feed_rs=$(sed -nE 's/^feed-rs parse alone: .*\( *([0-9]+) items\/s\).*cpu.*/\1/p' <<<"$out")
        one=$(sed -nE 's/^parse\+normalise.*cpu ([0-9.]+) s.*/\1/p' <<<"$out")
        overlapped=$(sed -nE 's/.*overlapped as in the daemon: .*\( *([0-9]+) items\/s\)  cpu ([0-9.]+) s.*/\1 items\/s, cpu \2 s/p' <<<"$out")
        echo "round $round $bin: feed-rs $feed_rs items/s; one thread cpu $one s; overlapped $overlapped; $(grep '^user ' <<<"$out")"
        rates[$bin]+="${overlapped%% *} "
    done
done
# The machine's drift moves whole rounds: a binary is compared with the
# first one round by round (pairs won), and by its median.
first=$1
for bin in "$@"; do
    read -ra mine <<<"${rates[$bin]}"
    read -ra base <<<"${rates[$first]}"
    won=0
    for i in "${!mine[@]}"; do
        [ "${mine[$i]}" -gt "${base[$i]}" ] && won=$((won + 1))
    done
    median=$(printf '%s\n' "${mine[@]}" | sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}')
    if [ "$bin" = "$first" ]; then
        echo "summary $bin: overlapped median $median items/s"
    else
        echo "summary $bin: overlapped median $median items/s; faster than $first in $won of ${#mine[@]} rounds"
    fi
done
