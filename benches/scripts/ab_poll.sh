#!/usr/bin/env bash
# Poll cycle 1 of several revierfeed binaries, alternated round by round, on
# the farm and config a `run.sh poll` left in $BENCH_DIR: on a machine whose
# speed drifts between runs, only binaries timed side by side compare.
#
# Usage: BENCH_DIR=… benches/scripts/ab_poll.sh ROUNDS BINARY...
# Prints one line per run: binary, wall, user, sys seconds, peak RSS.
set -euo pipefail
W=${BENCH_DIR:?BENCH_DIR: the directory of an earlier run.sh poll}
ROUNDS=${1:?rounds}
shift
[ -f "$W/nginx.conf" ] && [ -f "$W/poll/config.toml" ] && [ -d "$W/farm-v1/feeds" ] ||
    { echo "run benches/scripts/run.sh poll with BENCH_DIR=$W first" >&2; exit 1; }
cleanup() { [ -f "$W/nginx.pid" ] && kill "$(cat "$W/nginx.pid")" 2>/dev/null || true; }
trap cleanup EXIT
rm -rf "$W/farm/feeds" && ln -s "$W/farm-v1/feeds" "$W/farm/feeds"
nginx -c "$W/nginx.conf" -p "$W" -e "$W/nginx.err"
sleep 1.2 # nginx's open_file_cache_valid
for _ in $(seq "$ROUNDS"); do
    for bin in "$@"; do
        rm -f "$W"/poll/revierfeed.db*
        /usr/bin/time -f "$bin %e wall %U user %S sys %M kB" -o "$W/ab.time" \
            "$bin" --config "$W/poll/config.toml" fetch --once >"$W/ab.log" 2>&1
        cat "$W/ab.time"
    done
done
