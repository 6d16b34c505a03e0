#!/usr/bin/env bash
# Two revierfeed binaries serving the same 100,000-item database side by
# side, each on its own port, and wrk against them alternately, round by
# round: on a machine whose speed drifts, only servers timed side by side
# compare. One line per run: requests per second and the server's CPU time
# per request (user + system from /proc), then the medians.
#
# Needs the database `run.sh` builds (run any of its big steps once first:
# `benches/scripts/run.sh serve`) and wrk.
#
# Usage: BENCH_DIR=… BENCHKIT=… benches/scripts/ab_serve.sh ROUNDS REVIERFEED_A REVIERFEED_B
#        (SHAPES="1x32 2x64", DOC=/feed.atom, WRK_SECS=6, HEADERS=… e.g. 'Accept-Encoding: gzip')
set -euo pipefail
ROUNDS=${1:?rounds}
A=${2:?binary A}
B=${3:?binary B}
W=${BENCH_DIR:-target/bench}
BK=${BENCHKIT:?path of the benchkit binary}
SHAPES=${SHAPES:-1x32 2x64}
DOC=${DOC:-/feed.atom}
WRK_SECS=${WRK_SECS:-6}
[ -f "$W/big/base.db" ] || { echo "no $W/big/base.db: run benches/scripts/run.sh serve first" >&2; exit 1; }

PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true' EXIT
start() { # name binary port
    local d=$W/ab-serve-$1
    rm -rf "$d" && mkdir -p "$d"
    cp "$W/big/base.db" "$d/revierfeed.db"
    sed -e "s#$W/big#$d#g" -e "s#^listen = .*#listen = \"127.0.0.1:$3\"#" "$W/big/config.toml" >"$d/config.toml"
    # No polls while serving: every source's next poll is far away.
    "$BK" stagger "$d/config.toml" --interval 0 --spread 0 >/dev/null
    "$2" --config "$d/config.toml" run >"$d/daemon.log" 2>&1 &
    PIDS+=($!)
    local i
    for i in $(seq 600); do
        curl -sf -o /dev/null "http://127.0.0.1:$3$DOC" && return
        sleep 0.1
    done
    echo "$1 did not serve $DOC, see $d/daemon.log" >&2
    exit 1
}
start a "$A" 28821
PID_A=${PIDS[-1]}
start b "$B" 28822
PID_B=${PIDS[-1]}

hz=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
median() { printf '%s\n' "$@" | sort -g | sed -n "$((($# + 1) / 2))p"; }
headers=()
[ -n "${HEADERS:-}" ] && headers=(-H "$HEADERS")
for shape in $SHAPES; do
    t=${shape%%x*} c=${shape##*x}
    rps_a=() rps_b=() cpu_a=() cpu_b=()
    for round in $(seq "$ROUNDS"); do
        for side in a b; do
            if [ $side = a ]; then pid=$PID_A port=28821; else pid=$PID_B port=28822; fi
            c0=$(ticks "$pid")
            out=$(wrk -t"$t" -c"$c" -d"${WRK_SECS}"s "${headers[@]}" "http://127.0.0.1:$port$DOC")
            c1=$(ticks "$pid")
            rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
            requests=$(awk '/requests in/ {print $1}' <<<"$out")
            cpu=$(echo "scale=1; 1000000 * ($c1 - $c0) / $hz / $requests" | bc)
            echo "wrk -t$t -c$c round $round $side: $rps req/s, $cpu µs CPU per request"
            if [ $side = a ]; then rps_a+=("$rps") cpu_a+=("$cpu"); else rps_b+=("$rps") cpu_b+=("$cpu"); fi
        done
    done
    echo "wrk -t$t -c$c medians: A $(median "${rps_a[@]}") req/s, $(median "${cpu_a[@]}") µs; B $(median "${rps_b[@]}") req/s, $(median "${cpu_b[@]}") µs"
done
