#!/usr/bin/env bash
# End-to-end throughput of the failover plugin, measured with dnsperf against
# one CoreDNS built from cmd/coredns, on loopback only.
#
#   bench/dnsperf.sh                   # hosts vs static, weighted, active-active and geo
#   bench/dnsperf.sh --under-probing   # static with and without 10,000 probed endpoints
#   RESULTS=/tmp/dnsperf.txt bench/dnsperf.sh   # also write the table to a file
#
# The plugin answers from memory, so each policy is compared with the hosts
# plugin answering one inline name from the same server block: the goals are
# static, weighted and active-active >= 1.00x hosts, geo (with an EDNS Client
# Subnet on every query) >= 0.90x, and static under 10,000 probed endpoints at
# most 5 % below static without them, with a p99 probe lateness <= 100 ms.
#
# Targets are measured in alternating rounds (hosts, static, ..., hosts,
# static, ...) and reported as medians, so that a burst of other load on the
# machine spreads over all of them instead of skewing one. Besides the rate,
# each run reports the queries answered per CPU-second of CoreDNS, which
# stays put when other processes take the CPU away. On two or more cores
# CoreDNS runs alone on cpu 1 and dnsperf (and the probe backend) on cpu 0:
# on an idle 2-vCPU box that gave rounds within 2 % of each other and a
# higher rate than letting both float (GOMAXPROCS=2, rounds 15 % apart);
# DNSPERF_PIN=0 turns it off.
#
# --under-probing alternates two servers from the same binary: the server
# block above plus prometheus, and that with 10,000 more stanzas, one endpoint
# each, checked every 10 s over HTTP against bench/backend (which of the two
# goes first alternates from round to round). After the probed
# server is ready and every endpoint is up, it measures a control window
# without queries (probing CPU, lateness), then the saturated run; the
# lateness histogram (coredns_failover_probe_lateness_seconds) is scraped
# between them.
#
# Each round also measures a control: the server without probes while a
# second server, on the client's cpu, probes the same 10,000 endpoints. On a
# two-cpu box the backend and the load generator share a cpu, so probing
# anywhere on the machine slows the load generator; the control shows how
# much of the drop is that.
#
# DNSPERF_UNCHECKED=1 gives the 10,000 stanzas "check none" instead, to tell
# what the larger configuration costs from what the probes cost.
#
# Knobs (environment): DNSPERF_ROUNDS (3), DNSPERF_SECONDS (10 per run),
# DNSPERF_CLIENTS (20), DNSPERF_THREADS (1), DNSPERF_PIN (1), DNSPERF_PORT
# (15353; the ready, metrics and backend ports are the next three). Each mode
# takes 3 to 4 minutes. Not part of CI: the figures depend on the box.
set -Eeuo pipefail

mode=throughput
case "${1:-}" in
'') ;;
--under-probing) mode=probing ;;
*)
  echo "usage: $0 [--under-probing]" >&2
  exit 2
  ;;
esac

rounds=${DNSPERF_ROUNDS:-3}
seconds=${DNSPERF_SECONDS:-10}
clients=${DNSPERF_CLIENTS:-20}
threads=${DNSPERF_THREADS:-1}
pin=${DNSPERF_PIN:-1}
port=${DNSPERF_PORT:-15353}
ready_port=$((port + 1))
metrics_port=$((port + 2))
backend_port=$((port + 3))
elsewhere_port=$((port + 4))
elsewhere_ready=$((port + 5))
probed=10000
# DNSPERF_UNCHECKED=1 gives the 10,000 stanzas "check none": what the larger
# configuration costs the query path by itself, without a probe.
unchecked=${DNSPERF_UNCHECKED:-0}

root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
pids=()
halted=

# halt PID [GRACE] stops a process this script started, by SIGTERM and, after
# GRACE seconds, SIGKILL; it sets halted to the seconds the process took to
# exit, or "killed". (No $(...): only this shell can wait for its children.)
halt() {
  local pid=$1 grace=${2:-20} t0=$SECONDS
  kill "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null && [ $((SECONDS - t0)) -lt "$grace" ]; do
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    halted=killed
    return 0 # a bare return in a trap handler returns the status before the trap
  fi
  wait "$pid" 2>/dev/null || true
  halted=$((SECONDS - t0))
}

cleanup() {
  local p
  set +e
  for p in "${pids[@]}"; do
    halt "$p" 5
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
trap 'echo "$0: line $LINENO: $BASH_COMMAND failed" >&2' ERR

# forget PID drops a process that has been stopped and waited for.
forget() {
  local keep=() p
  for p in "${pids[@]}"; do
    [ "$p" = "$1" ] || keep+=("$p")
  done
  pids=("${keep[@]}")
}

if ! command -v dnsperf >/dev/null; then
  sudo=
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get install -y dnsperf >/dev/null || { $sudo apt-get update >/dev/null && $sudo apt-get install -y dnsperf >/dev/null; }
fi

# Pinning: CoreDNS alone on cpu 1 (Go then sizes GOMAXPROCS to that one cpu),
# the load generator and the probe backend on cpu 0.
server_cpu=() client_cpu=() placement="unpinned (GOMAXPROCS=$(nproc))"
if [ "$pin" = 1 ] && [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
  server_cpu=(taskset -c 1) client_cpu=(taskset -c 0)
  placement="coredns on cpu 1, dnsperf and backend on cpu 0"
fi

echo "building coredns..." >&2
(cd "$root" && go build -o "$tmp/coredns" ./cmd/coredns)

for port_in_use in "$port" "$ready_port" "$metrics_port" "$backend_port"; do
  if ss -Hlnu "sport = :$port_in_use" 2>/dev/null | grep -q . || ss -Hlnt "sport = :$port_in_use" 2>/dev/null | grep -q .; then
    echo "port $port_in_use is in use; set DNSPERF_PORT" >&2
    exit 1
  fi
done

# base_corefile writes the server block every measurement shares; extra
# directives (prometheus, the probed stanzas) come on stdin.
base_corefile() {
  cat <<EOF
example.org:$port {
    bind 127.0.0.1
    ready 127.0.0.1:$ready_port

    failover static.example.org {
        endpoint 192.0.2.10 priority 1
        endpoint 192.0.2.20 priority 2
    }
    failover weighted.example.org {
        policy weighted
        endpoint 192.0.2.31 weight 90
        endpoint 192.0.2.32 weight 10
    }
    failover active.example.org {
        policy active-active
        endpoint 192.0.2.41
        endpoint 192.0.2.42
        endpoint 192.0.2.43
    }
    failover geo.example.org {
        policy geo
        geoip $tmp/geo.mmdb
        endpoint 192.0.2.51 geo subdivision:US-CA
        endpoint 192.0.2.52 geo country:DE
        endpoint 192.0.2.53 geo continent:AS
        endpoint 192.0.2.54 default
    }
    hosts {
        192.0.2.1 hosts.example.org
        reload 0
        fallthrough
    }
EOF
  cat
  echo "}"
}

server_pid=
start_server() { # corefile
  "${server_cpu[@]}" "$tmp/coredns" -conf "$1" >"$tmp/coredns.log" 2>&1 &
  server_pid=$!
  pids+=("$server_pid")
  await_ready "$ready_port" "$server_pid" "$tmp/coredns.log"
}

# await_ready PORT PID LOG waits for the ready plugin on PORT; the plugin is
# ready once every endpoint had its first probe. It fails, showing LOG, if
# PID exits first or three minutes pass.
await_ready() {
  local deadline=$((SECONDS + 180))
  until curl -sf -o /dev/null "http://127.0.0.1:$1/ready"; do
    if ! kill -0 "$2" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
      echo "coredns did not become ready:" >&2
      cat "$3" >&2
      exit 1
    fi
    sleep 0.2
  done
}

# stop_server [GRACE] sets halted as halt does.
stop_server() {
  halt "$server_pid" "${1:-20}"
  forget "$server_pid"
}

# perf NAME [dnsperf options...] runs dnsperf for NAME's A record and prints
# three figures: queries per second; queries per CPU-second of CoreDNS (what
# the server spends per query, which other load on the box disturbs far
# less than the rate); and the share of a cpu CoreDNS got during the run
# (below 1.00 when pinned: something else ran on its cpu). It fails on
# anything but NOERROR answers or on more than 1 % of the queries lost,
# which would make the rate meaningless.
perf() {
  local name=$1 out="$tmp/dnsperf.out" before after
  shift
  echo "$name A" >"$tmp/query"
  before=$(cpu_ticks)
  "${client_cpu[@]}" dnsperf -s 127.0.0.1 -p "$port" -d "$tmp/query" -l "$seconds" \
    -c "$clients" -T "$threads" "$@" >"$out" 2>&1 || {
    cat "$out" >&2
    exit 1
  }
  after=$(cpu_ticks)
  awk -v name="$name" -v ticks=$((after - before)) -v hz="$hz" '
    /Queries sent:/ { sent = $3 }
    /Queries completed:/ { done = $3 }
    /Queries lost:/ { lost = $3 }
    /Response codes:/ { codes = $0; sub(/.*Response codes: */, "", codes) }
    /Run time \(s\):/ { secs = $4 }
    /Queries per second:/ { qps = $4 }
    END {
      if (codes !~ /^NOERROR [0-9]+ \(100\.00%\)$/) { print name ": unexpected response codes: " codes > "/dev/stderr"; exit 1 }
      if (sent == 0 || lost / sent > 0.01) { print name ": " lost " of " sent " queries lost" > "/dev/stderr"; exit 1 }
      if (ticks < 1) ticks = 1
      printf "%.0f %.0f %.2f\n", qps, done / (ticks / hz), ticks / hz / secs
    }' "$out"
}

# cpu_ticks prints the CPU time (user + system, in clock ticks) the server
# has used so far.
cpu_ticks() {
  awk '{ print $14 + $15 }' "/proc/$server_pid/stat"
}
hz=$(getconf CLK_TCK)

# median VALUES... prints the median, with two decimals if the values have any.
median() {
  printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1; if ($1 ~ /\./) f = "%.2f\n" }
    END { if (f == "") f = "%.0f\n"; printf f, (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# check NAME WANT [dig options...]: the server answers what the benchmark
# believes it measures. Skipped without dig.
check() {
  command -v dig >/dev/null || return 0
  local name=$1 want=$2 got
  shift 2
  got=$(dig +short +time=2 +tries=1 @127.0.0.1 -p "$port" "$name" A "$@" | sort | tr '\n' ' ')
  if [ "$got" != "$want " ]; then
    echo "$name: expected $want, got $got" >&2
    exit 1
  fi
}

# ECS (option 8): family 1, source prefix 24, scope 0, 198.51.100 - a network
# the database places in US-CA, so every query takes the deepest geo match.
ecs=8:00011800c63364

(cd "$root" && go run ./bench/mkgeodb -o "$tmp/geo.mmdb")

cpu_model=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
report="$tmp/report"

if [ "$mode" = throughput ]; then
  base_corefile </dev/null >"$tmp/Corefile"
  start_server "$tmp/Corefile"
  check hosts.example.org 192.0.2.1
  check static.example.org 192.0.2.10
  check active.example.org "192.0.2.41 192.0.2.42 192.0.2.43"
  check geo.example.org 192.0.2.51 +subnet=198.51.100.0/24

  targets=(hosts static weighted active geo)
  declare -A runs=() percpu=() share=()
  # Warm up (page cache, CPU frequency, Go heap) outside the measurement.
  seconds=2 perf hosts.example.org >/dev/null
  for ((r = 1; r <= rounds; r++)); do
    for t in "${targets[@]}"; do
      opts=()
      [ "$t" = geo ] && opts=(-E "$ecs")
      fig=$(perf "$t.example.org" "${opts[@]}")
      read -r q c u <<<"$fig"
      runs[$t]="${runs[$t]:-} $q"
      percpu[$t]="${percpu[$t]:-} $c"
      share[$t]="${share[$t]:-} $u"
      echo "round $r/$rounds $t: $q qps, $c queries per CPU-second, coredns cpu share $u" >&2
    done
  done
  stop_server

  {
    echo "failover end-to-end throughput: dnsperf $(dnsperf -h 2>&1 | awk '/^Version/ { print $2 }'), $rounds rounds x ${seconds}s per target, -c $clients -T $threads, UDP on loopback"
    echo "machine: $(nproc) cpus, $cpu_model; $placement"
    echo "load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
    printf '%-14s %-21s %7s %7s %5s %-6s %9s %7s %-6s %5s\n' "" "" "" "" "" "" "queries/" "" "" "cpu"
    printf '%-14s %-21s %7s %7s %5s %-6s %9s %7s %-6s %5s  %s\n' target name qps "x hosts" goal "" "cpu-sec" "x hosts" "" share "rounds (qps)"
    hosts=$(median ${runs[hosts]})
    hosts_cpu=$(median ${percpu[hosts]})
    for t in "${targets[@]}"; do
      m=$(median ${runs[$t]})
      c=$(median ${percpu[$t]})
      u=$(median ${share[$t]})
      case $t in
      hosts) goal=- label=hosts ;;
      geo) goal=0.90 label="geo (ECS)" ;;
      active) goal=1.00 label=active-active ;;
      *) goal=1.00 label=$t ;;
      esac
      ratio=$(awk -v a="$m" -v b="$hosts" 'BEGIN { printf "%.2f", a / b }')
      cratio=$(awk -v a="$c" -v b="$hosts_cpu" 'BEGIN { printf "%.2f", a / b }')
      verdict= cverdict=
      if [ "$goal" != - ]; then
        verdict=$(awk -v r="$ratio" -v g="$goal" 'BEGIN { print (r >= g) ? "ok" : "BELOW" }')
        cverdict=$(awk -v r="$cratio" -v g="$goal" 'BEGIN { print (r >= g) ? "ok" : "BELOW" }')
      fi
      printf '%-14s %-21s %7s %7s %5s %-6s %9s %7s %-6s %5s  %s\n' "$label" "$t.example.org" "$m" "${ratio}x" "$goal" "$verdict" "$c" "${cratio}x" "$cverdict" "$u" "${runs[$t]# }"
    done
    echo
    echo "qps: median of the rounds; queries/cpu-sec: queries answered per CPU-second"
    echo "of coredns (median), the figure other load on the box disturbs least; cpu"
    echo "share: the part of a cpu coredns got while dnsperf ran (median)."
  } >"$report"
else
  (cd "$root" && go build -o "$tmp/backend" ./bench/backend)
  # The probed endpoints' checks go to $backends loopback addresses, as real
  # endpoints have addresses of their own (bench/backend says why one
  # address is not enough).
  backends=100
  listen=$(awk -v n="$backends" -v port="$backend_port" 'BEGIN { for (i = 1; i <= n; i++) printf "%s127.0.1.%d:%d", (i > 1 ? "," : ""), i, port }')
  "${client_cpu[@]}" "$tmp/backend" -listen "$listen" &
  pids+=("$!")
  deadline=$((SECONDS + 30))
  until curl -sf -o /dev/null "http://127.0.1.$backends:$backend_port/"; do
    [ $SECONDS -lt $deadline ] || {
      echo "backend did not start" >&2
      exit 1
    }
    sleep 0.1
  done

  # Both servers export metrics, so that the prometheus plugin's own cost
  # per query is on both sides of the comparison.
  echo "    prometheus 127.0.0.1:$metrics_port" | base_corefile >"$tmp/Corefile.idle"
  # One endpoint per stanza, each its own address, so that no two share a
  # monitor: 10,000 probes per 10 s interval.
  awk -v n="$probed" -v b="$backends" -v port="$backend_port" -v none="$unchecked" 'BEGIN {
    for (i = 0; i < n; i++) {
      check = sprintf("http://127.0.1.%d:%d/", i % b + 1, port)
      if (none) check = "none"
      printf "    failover n%d.probe.example.org {\n        endpoint 10.0.%d.%d\n        check %s\n        interval 10s\n    }\n", i, int(i / 250), i % 250 + 1, check
    }
  }' >"$tmp/probed.stanzas"
  {
    echo "    prometheus 127.0.0.1:$metrics_port"
    cat "$tmp/probed.stanzas"
  } | base_corefile >"$tmp/Corefile.probing"
  # The control: the same probing in a second server on the client's cpu,
  # while the measured server has none. What it costs the measured server is
  # what probing costs this two-cpu rig (the backend and the load generator
  # share a cpu), not the plugin inside the server.
  {
    echo "example.org:$elsewhere_port {"
    echo "    bind 127.0.0.1"
    echo "    ready 127.0.0.1:$elsewhere_ready"
    cat "$tmp/probed.stanzas"
    echo "}"
  } >"$tmp/Corefile.elsewhere"

  # scrape NAME... saves the named metric families: a full /metrics with
  # 10,000 endpoints is tens of megabytes, and the metrics server's 5 s write
  # timeout cuts it off on a busy box. The server still gathers everything
  # before filtering, so a scrape can fail under load; it is retried.
  scrape() {
    local url="http://127.0.0.1:$metrics_port/metrics?" n try
    for n in "$@"; do url+="name[]=$n&"; done
    for try in 1 2 3 4 5; do
      curl -sfg --max-time 60 -o "$tmp/scrape" "$url" && return 0
      sleep 1
    done
    echo "cannot scrape $url" >&2
    return 1
  }
  # buckets prints the probe lateness histogram of the last scrape as
  # cumulative "le count" lines.
  buckets() {
    awk '/^coredns_failover_probe_lateness_seconds_bucket/ { match($0, /le="[^"]*"/); print substr($0, RSTART + 4, RLENGTH - 5), $2 }' "$tmp/scrape"
  }
  # count_up prints how many probed endpoints the last scrape has up.
  count_up() {
    awk '/^coredns_failover_endpoint_up\{.*probe\.example\.org/ && $2 == 1 { n++ } END { print n + 0 }' "$tmp/scrape"
  }
  # delta FROM TO OUT adds the probes started between two bucket snapshots
  # to OUT (both snapshots list the buckets in the same order).
  delta() {
    paste -d' ' "$1" "$2" | awk '{ print $1, $4 - $2 }' >>"$3"
  }

  other_q=() idle=() idle_cpu=() idle_share=() busy=() busy_cpu=() busy_share=() probing=() down=() startup=() shutdown=()
  : >"$tmp/late.idle"
  : >"$tmp/late.busy"
  # run_idle and run_probing measure one round of each side; the rounds
  # alternate which side goes first, so that a drift of the machine during a
  # round does not always favour the same side.
  run_idle() {
    start_server "$tmp/Corefile.idle"
    check static.example.org 192.0.2.10
    [ "$r" -gt 1 ] || seconds=2 perf static.example.org >/dev/null
    fig=$(perf static.example.org)
    read -r q c u <<<"$fig"
    idle+=("$q") idle_cpu+=("$c") idle_share+=("$u")
    echo "round $r/$rounds static without probes: $q qps, $c queries per CPU-second, coredns cpu share $u" >&2

    "${client_cpu[@]}" "$tmp/coredns" -conf "$tmp/Corefile.elsewhere" >"$tmp/elsewhere.log" 2>&1 &
    other=$!
    pids+=("$other")
    await_ready "$elsewhere_ready" "$other" "$tmp/elsewhere.log"
    sleep 10
    fig=$(perf static.example.org)
    read -r q c u <<<"$fig"
    other_q+=("$q")
    echo "round $r/$rounds static without probes, $probed endpoints probed by another server on cpu 0: $q qps" >&2
    halt "$other" 20
    forget "$other"
    stop_server
  }

  run_probing() {
    t0=$SECONDS
    start_server "$tmp/Corefile.probing"
    startup+=("$((SECONDS - t0))")
    check static.example.org 192.0.2.10
    check n9999.probe.example.org 10.0.39.250
    # Endpoints whose first probe failed on a busy box are probed at the
    # fast interval until they rise; measure once every one is up and one
    # more interval has passed, so that only the steady rate remains.
    settle=$((SECONDS + 120))
    until scrape coredns_failover_endpoint_up && [ "$(count_up)" -eq "$probed" ]; do
      if [ $SECONDS -ge $settle ]; then
        echo "only $(count_up) of $probed probed endpoints came up; the backend does not keep up" >&2
        exit 1
      fi
      sleep 2
    done
    sleep 10
    # The control window: as long as a run, without queries. Its lateness
    # includes what the scrapes themselves cause.
    scrape coredns_failover_probe_lateness_seconds
    buckets >"$tmp/b0"
    t0=$(cpu_ticks)
    sleep "$seconds"
    t1=$(cpu_ticks)
    scrape coredns_failover_probe_lateness_seconds
    buckets >"$tmp/b1"
    # CPU share and CPU time per probe of probing alone.
    probing+=("$(paste -d' ' "$tmp/b0" "$tmp/b1" | awk -v t=$((t1 - t0)) -v hz="$hz" -v s="$seconds" '
      $1 == "+Inf" { n = $4 - $2 } END { printf "%.2f/%.0f", t / hz / s, n ? t / hz / n * 1e6 : 0 }')")
    fig=$(perf static.example.org)
    read -r q c u <<<"$fig"
    busy+=("$q") busy_cpu+=("$c") busy_share+=("$u")
    scrape coredns_failover_probe_lateness_seconds coredns_failover_endpoint_up
    buckets >"$tmp/b2"
    delta "$tmp/b0" "$tmp/b1" "$tmp/late.idle"
    delta "$tmp/b1" "$tmp/b2" "$tmp/late.busy"
    echo "round $r/$rounds static with $probed probed endpoints: $q qps, $c queries per CPU-second, coredns cpu share $u" >&2
    # A probe starved into its timeout marks a healthy endpoint down.
    down+=("$((probed - $(count_up)))")
    # Shutting down is not what is measured: a slow one is reported, not
    # waited for.
    stop_server 10
    shutdown+=("$halted")
  }

  for ((r = 1; r <= rounds; r++)); do
    if ((r % 2)); then
      run_idle
      run_probing
    else
      run_probing
      run_idle
    fi
  done

  # p99 prints the bucket holding the 99th percentile of a summed lateness
  # histogram, and the histogram.
  p99() {
    awk -v what="$1" '{ c[$1] += $2; if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 } }
      END {
        total = c["+Inf"]
        if (total == 0) { print what ": no probes"; exit }
        lo = 0
        for (i = 1; i <= n; i++) {
          le = order[i]
          if (c[le] >= 0.99 * total) {
            ok = (le != "+Inf" && le + 0 <= 0.1) ? "[ok]" : "[ABOVE]"
            printf "%s: p99 in (%s s, %s s] over %d probes; goal <= 0.1 s %s\n", what, lo, le, total, ok
            break
          }
          lo = le
        }
        printf "  cumulative:"
        for (i = 1; i <= n; i++) printf " <=%s:%d", order[i], c[order[i]]
        printf "\n"
      }' "$2"
  }

  {
    echo "failover static throughput under probing: dnsperf $(dnsperf -h 2>&1 | awk '/^Version/ { print $2 }'), $rounds rounds x ${seconds}s each way, -c $clients -T $threads, UDP on loopback"
    echo "machine: $(nproc) cpus, $cpu_model; $placement"
    echo "load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo
    # compare LABEL IDLE BUSY: the medians and the drop from one to the other.
    compare() {
      local a b drop
      a=$(median $2)
      b=$(median $3)
      drop=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.1f", (a - b) * 100 / a }')
      printf '%-22s %10s %10s %7s%%  %-7s  %s | %s\n' "$1" "$a" "$b" "$drop" \
        "$(awk -v d="$drop" 'BEGIN { print (d <= 5) ? "ok" : "ABOVE" }')" "$2" "$3"
    }
    printf '%-22s %10s %10s %8s  %-7s  %s\n' "static.example.org" "no probes" "$probed" "drop" "(<= 5%)" "rounds: no probes | probes"
    compare "qps" "${idle[*]}" "${busy[*]}"
    compare "queries/cpu-sec" "${idle_cpu[*]}" "${busy_cpu[*]}"
    compare "qps, control" "${idle[*]}" "${other_q[*]}"
    echo "(control: the measured server without probes while another server on the client's cpu probes the same endpoints)"
    printf '%-22s %10s %10s\n' "coredns cpu share" "$(median "${idle_share[@]}")" "$(median "${busy_share[@]}")"
    echo
    echo "probing alone (control window, no queries), cpu share / cpu microseconds per probe: ${probing[*]}"
    echo "healthy endpoints seen down after each saturated run: ${down[*]}"
    echo "startup with $probed endpoints (until ready, incl. first probe round): ${startup[*]} s"
    echo "shutdown with $probed endpoints (SIGTERM until exit, killed after 10 s): ${shutdown[*]}"
    p99 "probe lateness while saturated" "$tmp/late.busy"
    p99 "probe lateness without queries (control)" "$tmp/late.idle"
  } >"$report"
fi

cat "$report"
if [ -n "${RESULTS:-}" ]; then
  cp "$report" "$RESULTS"
fi
