#!/usr/bin/env bash
# Whole-process benchmarks of revierfeed against its limits and its peers
# (issue 6; the figures and how to read them are in BENCHMARKS.md):
#
#   serve    wrk on /feed.atom (plain, gzip, 304) against the daemon and against
#            nginx serving the same bytes as static files, side by side, in
#            each shape of WRK_SHAPES (default "1x32 2x64": wrk -t1 -c32, -t2 -c64)
#   poll     1,000 feeds behind nginx: revierfeed `fetch --once` cycles 1-3 and
#            `newsboat -x reload` (8 threads) reloads 1-3, interleaved
#   latency  the same feeds from benchkit's server with 50 ms added per answer
#   ingest   benchkit ingest: 100,000 items from memory, against feed-rs alone
#   startup  start to first served /feed.atom with 100,000 items stored
#   memory   peak RSS during a cycle over 1,000 sources and while serving
#   idle     CPU time over 10 minutes, 1,000 sources answering 304 every 15 min
#
# Usage: benches/scripts/run.sh [STEP...]   (default: every step but idle)
# Needs: nginx, wrk, newsboat, sqlite3, bc, GNU time
# (Debian: apt-get install nginx-light wrk newsboat sqlite3 bc time).
# Everything runs on loopback (127.0.0.1 and 127.77.x.y), every load is bounded
# in time, and everything started here is stopped on exit. Work files go to
# $BENCH_DIR (default target/bench-run); results are appended to $BENCH_DIR/results.txt.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
W=${BENCH_DIR:-$ROOT/target/bench-run}
SOURCES=${SOURCES:-1000}
FARM_PORT=${FARM_PORT:-28080}      # nginx: partner feeds on every 127.77.x.y origin
LAT_PORT=${LAT_PORT:-28081}       # benchkit serve: the same files, 50 ms per answer
STATIC=${STATIC:-127.0.0.1:28090}   # nginx: the daemon's feed bytes as static files
DAEMON=${DAEMON:-127.0.0.1:28802}   # revierfeed run
WRK_SECS=${WRK_SECS:-6}
ROUNDS=${ROUNDS:-3}
# serve: wrk shapes as THREADSxCONNECTIONS; both of issue 18 by default.
WRK_SHAPES=${WRK_SHAPES:-1x32 2x64}
mkdir -p "$W"
RESULTS=$W/results.txt

say() { echo "$*" | tee -a "$RESULTS"; }
need() { command -v "$1" >/dev/null || { echo "missing $1: apt-get install $2" >&2; exit 1; }; }

PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    if [ -f "$W/nginx.pid" ]; then
        local pid
        pid=$(cat "$W/nginx.pid")
        kill "$pid" 2>/dev/null || true
        # Gone before the next run looks for it (a dying master still answers kill -0).
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        rm -f "$W/nginx.pid"
    fi
}
trap cleanup EXIT

build() {
    # REVIERFEED=path and BENCHKIT=path skip the build (e.g. to measure an older binary).
    if [ -n "${REVIERFEED:-}" ] && [ -n "${BENCHKIT:-}" ]; then
        RF=$REVIERFEED BK=$BENCHKIT
        return
    fi
    # One release build for the daemon and the benchmark helper.
    BK=$(cargo build --release --locked --bin revierfeed --bench benchkit --message-format=json 2>/dev/null |
        python3 -c 'import json,sys
for l in sys.stdin:
    m=json.loads(l)
    if m.get("executable") and m["target"]["name"]=="benchkit": print(m["executable"])')
    RF=$ROOT/target/release/revierfeed
    [ -x "$BK" ] && [ -x "$RF" ] || { echo "build failed: cargo build --release --bin revierfeed --bench benchkit" >&2; exit 1; }
}

machine() {
    # The binaries measured, when given: the checkout's HEAD need not be what they were built from.
    local built
    built="$(git -C "$ROOT" rev-parse --short HEAD)"
    [ -n "${REVIERFEED:-}" ] && built="$built (binaries $RF, $BK)"
    say "== $(date -u +%FT%TZ) $built on $(nproc) cores," \
        "$(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo)," \
        "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load $(cut -d' ' -f1-3 /proc/loadavg)"
    say "   nginx $(nginx -v 2>&1 | cut -d/ -f2), $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2), $(newsboat -v | head -1)"
}

# --- nginx: the partner farm on every origin, and the static twin of the daemon's feed.
start_nginx() {
    [ -f "$W/nginx.pid" ] && kill -0 "$(cat "$W/nginx.pid")" 2>/dev/null && return
    mkdir -p "$W/farm" "$W/static" "$W/nginx-tmp"
    {
        echo "worker_processes 2; pid $W/nginx.pid; error_log $W/nginx.err warn;"
        echo "worker_rlimit_nofile 16384; events { worker_connections 8192; }"
        echo "http { access_log off; sendfile on; tcp_nopush on; keepalive_requests 100000;"
        echo "  open_file_cache max=4000; open_file_cache_valid 1s; default_type application/octet-stream;"
        echo "  types { application/rss+xml xml; application/atom+xml atom; }"
        echo "  client_body_temp_path $W/nginx-tmp; proxy_temp_path $W/nginx-tmp;"
        echo "  fastcgi_temp_path $W/nginx-tmp; uwsgi_temp_path $W/nginx-tmp; scgi_temp_path $W/nginx-tmp;"
        echo "  server { root $W/farm;"
        "$BK" origins --sources "$SOURCES" | sed "s/.*/    listen &:$FARM_PORT;/"
        echo "  }"
        echo "  server { listen $STATIC; root $W/static; gzip off; gzip_static on; gzip_vary on; }"
        echo "}"
    } >"$W/nginx.conf"
    nginx -c "$W/nginx.conf" -p "$W" -e "$W/nginx.err"
}

# Runs a command, appending "wall user sys" (seconds) to the named file.
timed() {
    local out=$1
    shift
    local t0 t1
    t0=$(date +%s.%N)
    /usr/bin/time -f '%U %S %M' -o "$out.rusage" "$@"
    t1=$(date +%s.%N)
    echo "$(echo "$t1 - $t0" | bc) $(cat "$out.rusage")" >>"$out"
}

wait_http() { # url [seconds]
    local until=$((SECONDS + ${2:-30}))
    until curl -sf -o /dev/null "$1"; do
        [ $SECONDS -lt $until ] || { echo "no answer from $1" >&2; return 1; }
        sleep 0.005
    done
}

# HEAPTRACK=FILE runs the daemon under heaptrack (what holds memory:
# `heaptrack_print -f FILE.zst`); its figures then include heaptrack's own.
start_daemon() { # config
    if [ -n "${HEAPTRACK:-}" ]; then
        heaptrack -o "$HEAPTRACK" "$RF" --config "$1" run >>"$W/daemon.log" 2>&1 &
        WRAPPER=$!
        PIDS+=("$WRAPPER")
        until DPID=$(pgrep -P "$WRAPPER" -x revierfeed); do sleep 0.05; done
    else
        "$RF" --config "$1" run >>"$W/daemon.log" 2>&1 &
        DPID=$!
        WRAPPER=$DPID
    fi
    PIDS+=("$DPID")
}

stop_daemon() {
    kill -TERM "$DPID" 2>/dev/null || true
    wait "$WRAPPER" 2>/dev/null || true
}

metric() { # name
    curl -s "http://$DAEMON/metrics" | awk -v m="$1" 'index($1, m) == 1 {s+=$2} END {print s+0}'
}

# --- poll: client cost of one cycle over 1,000 sources, revierfeed vs newsboat.
step_poll() {
    start_nginx
    local d=$W/poll
    rm -rf "$d" && mkdir -p "$d"
    farm_version 1
    "$BK" config --sources "$SOURCES" --port $FARM_PORT --database "$d/revierfeed.db" >"$d/config.toml"
    "$BK" origins --sources "$SOURCES" | awk -v port=$FARM_PORT '{print "http://" $1 ":" port "/feeds/" NR-1 ".xml"}' >"$d/urls"
    printf 'reload-threads 8\nshow-read-feeds yes\n' >"$d/newsboat.conf"
    for cycle in 1 2 3; do
        [ $cycle = 2 ] && farm_version 2
        timed "$d/rf.$cycle" "$RF" --config "$d/config.toml" fetch --once >"$d/rf.$cycle.log" 2>&1 ||
            { echo "fetch --once failed, see $d/rf.$cycle.log" >&2; exit 1; }
        timed "$d/nb.$cycle" env HOME="$d" XDG_CONFIG_HOME="$d" XDG_DATA_HOME="$d" \
            newsboat -u "$d/urls" -c "$d/cache.db" -C "$d/newsboat.conf" -x reload >"$d/nb.$cycle.log" 2>&1
        local rf nb
        rf=$(cat "$d/rf.$cycle")
        nb=$(cat "$d/nb.$cycle")
        say "poll cycle $cycle: revierfeed $(tail -1 "$d/rf.$cycle.log")"
        say "  revierfeed wall/user/sys/maxrss(KiB): $rf   newsboat: $nb" \
            "  ratio(wall) $(echo "scale=3; ${rf%% *} / ${nb%% *}" | bc)"
    done
    say "  items stored: $(sqlite3 "$d/revierfeed.db" 'select count(*) from items' 2>/dev/null || echo '?'); newsboat items: $(sqlite3 "$d/cache.db" 'select count(*) from rss_item' 2>/dev/null || echo '?')"
}

# --- latency: every answer 50 ms late; the cycle should approach 1000 × 50 ms / concurrency.
step_latency() {
    farm_version 1
    "$BK" serve "$W/farm" --port $LAT_PORT --sources "$SOURCES" --latency-ms 50 --max-secs 600 >"$W/latency-farm.log" 2>&1 &
    local farm=$!
    PIDS+=("$farm")
    wait_http "http://127.77.0.1:$LAT_PORT/feeds/0.xml"
    for conc in 16 64; do
        local d=$W/latency-$conc
        rm -rf "$d" && mkdir -p "$d"
        "$BK" config --sources "$SOURCES" --port $LAT_PORT --database "$d/revierfeed.db" --concurrency $conc >"$d/config.toml"
        for cycle in 1 3; do
            timed "$d/rf.$cycle" "$RF" --config "$d/config.toml" fetch --once >"$d/rf.$cycle.log" 2>&1 ||
                { echo "fetch --once failed, see $d/rf.$cycle.log" >&2; exit 1; }
            local wall
            wall=$(cut -d' ' -f1 "$d/rf.$cycle")
            say "latency 50 ms, concurrency $conc, cycle $cycle ($(tail -1 "$d/rf.$cycle.log")):" \
                "wall ${wall}s, ideal $(echo "scale=3; $SOURCES * 0.05 / $conc" | bc)s," \
                "ratio $(echo "scale=2; $wall / ($SOURCES * 0.05 / $conc)" | bc); user/sys/maxrss $(cut -d' ' -f2- "$d/rf.$cycle")"
        done
    done
    kill "$farm" 2>/dev/null || true
}

step_ingest() {
    "$BK" ingest "$W/ingest" --feeds 1000 --items 100 --runs 3 | tee -a "$RESULTS"
}

# --- the big database: 1,000 sources, 80 seeded + 20 polled items each = 100,000.
big_setup() {
    start_nginx
    local d=$W/big
    [ -f "$d/ready" ] && return
    rm -rf "$d" && mkdir -p "$d"
    farm_version 1
    "$BK" config --sources "$SOURCES" --port $FARM_PORT --database "$d/revierfeed.db" \
        --listen $DAEMON --schedule 15m >"$d/config.toml"
    "$BK" seed "$d/config.toml" --per-source 80 | tee -a "$RESULTS"
    "$RF" --config "$d/config.toml" fetch --once >"$d/fill.log" 2>&1
    say "big database: $(tail -1 "$d/fill.log"); $(du -h "$d/revierfeed.db" | cut -f1)"
    sqlite3 "$d/revierfeed.db" 'PRAGMA wal_checkpoint(TRUNCATE)' >/dev/null
    cp "$d/revierfeed.db" "$d/base.db"
    touch "$d/ready"
}

# Puts the big database back to 100,000 items, as big_setup left it, and the
# farm to the feeds it was filled from; then sets when sources are next due:
# `big_reset SPREAD` spreads them over the next SPREAD seconds (0: due now),
# `big_reset never` makes none due within the step (last polled just now).
big_reset() {
    local d=$W/big
    rm -f "$d/revierfeed.db-wal" "$d/revierfeed.db-shm"
    cp "$d/base.db" "$d/revierfeed.db"
    farm_version 1
    case $1 in
    never) "$BK" stagger "$d/config.toml" --interval 0 --spread 0 >/dev/null ;;
    *) "$BK" stagger "$d/config.toml" --interval 900 --spread "$1" ;;
    esac
}

# Serves version V of every partner feed. Each version is written once, to
# its own directory, and the farm points at it: files keep their mtimes, so
# nginx's ETags stay what the base database stored, and its polls get 304s.
farm_version() {
    local dir=$W/farm-v$1
    [ -f "$dir/feeds/0.xml" ] || "$BK" gen "$dir" --feeds "$SOURCES" --items 20 --version "$1"
    [ "$(readlink "$W/farm/feeds" 2>/dev/null)" = "$dir/feeds" ] && return
    mkdir -p "$W/farm"
    rm -rf "$W/farm/feeds"
    ln -s "$dir/feeds" "$W/farm/feeds"
    sleep 1.1 # nginx's open_file_cache_valid
}

step_startup() {
    big_setup
    big_reset never
    local d=$W/big times=()
    for _ in $(seq 5); do
        local t0 t1
        t0=$(date +%s.%N)
        start_daemon "$d/config.toml"
        wait_http "http://$DAEMON/feed.atom" 60
        t1=$(date +%s.%N)
        times+=("$(echo "$t1 - $t0" | bc)")
        stop_daemon
    done
    say "startup to first served /feed.atom with $(sqlite3 "$d/revierfeed.db" 'select count(*) from items' 2>/dev/null || echo 100000) items: ${times[*]} s"
}

rps() { awk '/Requests\/sec/ {print $2}'; }

# CPU clock ticks (user + system) the given processes have used so far.
ticks() { for p in "$@"; do awk '{print $14 + $15}' "/proc/$p/stat"; done | awk '{s += $1} END {print s + 0}'; }

# Runs wrk ARGS... against a server whose processes are in $SERVER_PIDS; prints
# "req/s:µs" — requests per second, and the server's CPU time per request
# (user + system, from /proc), which the machine's load moves far less than
# req/s: a busy machine delays a server but does not make its work bigger.
wrk_cpu() {
    local c0 c1 out
    c0=$(ticks $SERVER_PIDS)
    out=$(wrk "$@")
    c1=$(ticks $SERVER_PIDS)
    echo "$(echo "$out" | rps):$(echo "$out" | awk -v t="$((c1 - c0))" -v hz="$(getconf CLK_TCK)" \
        '/requests in/ {printf "%.1f", 1e6 * t / hz / $1}')"
}

# The median of the given numbers.
median() { printf '%s\n' "$@" | sort -g | sed -n "$((($# + 1) / 2))p"; }

step_serve() {
    big_setup
    big_reset never
    local d=$W/big
    start_daemon "$d/config.toml"
    wait_http "http://$DAEMON/feed.atom" 60
    curl -s "http://$DAEMON/feed.atom" -o "$W/static/feed.atom"
    curl -s -H 'Accept-Encoding: gzip' "http://$DAEMON/feed.atom" -o "$W/static/feed.atom.gz"
    touch -r "$W/static/feed.atom" "$W/static/feed.atom.gz"
    local ours theirs
    ours=$(curl -sI "http://$DAEMON/feed.atom" | awk -F': ' 'tolower($1)=="etag" {print $2}' | tr -d '\r')
    theirs=$(curl -sI "http://$STATIC/feed.atom" | awk -F': ' 'tolower($1)=="etag" {print $2}' | tr -d '\r')
    say "serve /feed.atom: $(stat -c %s "$W/static/feed.atom") bytes, gzip $(stat -c %s "$W/static/feed.atom.gz") bytes; wrk -d${WRK_SECS}s, $ROUNDS rounds"
    # Each wrk shape (threads and connections) in turn; within a shape, the
    # daemon and nginx alternate round by round so load on the machine hits both.
    local shape
    for shape in $WRK_SHAPES; do
        local wt=${shape%%x*} wc=${shape##*x}
        for mode in plain gzip 304; do
            local a=() b=()
            for _ in $(seq "$ROUNDS"); do
                local ha=() hb=()
                case $mode in
                gzip) ha=(-H 'Accept-Encoding: gzip') hb=(-H 'Accept-Encoding: gzip') ;;
                304) ha=(-H "If-None-Match: $ours") hb=(-H "If-None-Match: $theirs") ;;
                esac
                a+=("$(SERVER_PIDS=$DPID wrk_cpu -t"$wt" -c"$wc" -d"${WRK_SECS}"s "${ha[@]}" "http://$DAEMON/feed.atom")")
                b+=("$(SERVER_PIDS=$(pgrep -P "$(cat "$W/nginx.pid")" | xargs) wrk_cpu -t"$wt" -c"$wc" -d"${WRK_SECS}"s "${hb[@]}" "http://$STATIC/feed.atom")")
            done
            local ma mb ca cb
            ma=$(median "${a[@]%%:*}") mb=$(median "${b[@]%%:*}")
            ca=$(median "${a[@]##*:}") cb=$(median "${b[@]##*:}")
            say "  wrk -t$wt -c$wc $mode: revierfeed ${a[*]%%:*} req/s; nginx ${b[*]%%:*} req/s; median ratio $(echo "scale=3; $ma / $mb" | bc)"
            say "     CPU µs per request: revierfeed ${a[*]##*:}; nginx ${b[*]##*:}; median ratio (nginx ÷ revierfeed) $(echo "scale=3; $cb / $ca" | bc)"
        done
    done
    say "  daemon VmHWM while serving: $(awk '/VmHWM/ {print $2, $3}' /proc/$DPID/status)"
    stop_daemon
}

# The daemon's large rendered bodies live in memory files (src/zero_copy.rs)
# sent with sendfile: shared memory that VmRSS counts only where the daemon
# reads them itself, so their total is reported beside it.
memory_files() {
    local n=0 kib=0 fd size
    for fd in /proc/$DPID/fd/*; do
        case $(readlink "$fd" 2>/dev/null) in
        /memfd:revierfeed-body*)
            size=$(stat -L -c %s "$fd" 2>/dev/null) || continue
            n=$((n + 1)) kib=$((kib + size / 1024))
            ;;
        esac
    done
    echo "memory files (rendered bodies outside VmRSS): $n, $kib KiB"
}

# --- memory: every source due at once, every feed changed, then serving.
step_memory() {
    big_setup
    local d=$W/big
    # From the 100,000 items of version 1, version 3 of every feed brings 10 new items per source.
    big_reset 0
    local v=3
    farm_version $v
    start_daemon "$d/config.toml"
    wait_http "http://$DAEMON/feed.atom" 60
    local start=$SECONDS peak=0 polls=0 renders
    renders=$(metric revierfeed_renders_total)
    while [ $SECONDS -lt $((start + 300)) ]; do
        local rss
        rss=$(awk '/VmRSS/ {print $2}' "/proc/$DPID/status")
        [ "$rss" -gt "$peak" ] && peak=$rss
        polls=$(metric revierfeed_polls_total)
        [ "$polls" -ge "$SOURCES" ] && [ "$(metric revierfeed_renders_total)" -gt "$renders" ] && break
        sleep 0.1
    done
    sleep 1
    say "memory: version $v of every feed; cycle over $polls sources took $((SECONDS - start)) s; peak sampled VmRSS $peak KiB;" \
        "VmHWM $(awk '/VmHWM/ {print $2, $3}' /proc/$DPID/status); items $(metric revierfeed_items_stored)"
    say "  $(memory_files)"
    wrk -t1 -c64 -d"${WRK_SECS}"s "http://$DAEMON/feed.atom" >/dev/null
    wrk -t1 -c64 -d"${WRK_SECS}"s -H 'Accept-Encoding: gzip' "http://$DAEMON/status" >/dev/null
    say "  after serving /feed.atom and /status under wrk -c64: VmRSS $(awk '/VmRSS/ {print $2, $3}' /proc/$DPID/status), VmHWM $(awk '/VmHWM/ {print $2, $3}' /proc/$DPID/status); $(memory_files)"
    stop_daemon
}

# --- idle: 10 minutes of a daemon whose 1,000 sources answer 304, polled every 15 min.
step_idle() {
    big_setup
    local d=$W/big secs=${IDLE_SECS:-600}
    big_reset 900
    start_daemon "$d/config.toml"
    wait_http "http://$DAEMON/feed.atom" 60
    sleep 2
    local tick c0 c1 p0 p1
    tick=$(getconf CLK_TCK)
    c0=$(awk '{print $14 + $15}' "/proc/$DPID/stat")
    p0=$(metric revierfeed_polls_total)
    sleep "$secs"
    c1=$(awk '{print $14 + $15}' "/proc/$DPID/stat")
    p1=$(metric revierfeed_polls_total)
    say "idle: ${secs} s with $SOURCES sources on a 15 min schedule: $((p1 - p0)) polls ($(metric 'revierfeed_polls_total{outcome="not_modified"}') answered 304)," \
        "CPU $(echo "scale=2; ($c1 - $c0) / $tick" | bc) s ($(echo "scale=3; 100 * ($c1 - $c0) / $tick / $secs" | bc) % of one core); VmRSS $(awk '/VmRSS/ {print $2, $3}' /proc/$DPID/status)"
    stop_daemon
}

build
machine
steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(ingest poll latency startup serve memory)
for s in "${steps[@]}"; do "step_$s"; done
