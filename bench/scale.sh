#!/usr/bin/env bash
# Runs the scale test: 10,000 endpoints with HTTP checks every 10 s against a
# loopback backend in another process, for FAILOVER_SCALE_WINDOW (default 3m),
# and prints setup time, the first answer, CPU, memory, how evenly probes are
# spread and how late they start.
#
#   bench/scale.sh                                   # 10,000 endpoints, 3 minutes
#   FAILOVER_SCALE_N=1000 FAILOVER_SCALE_WINDOW=30s bench/scale.sh
#   FAILOVER_SCALE_PROFILE=/tmp/prof bench/scale.sh  # also cpu.pprof and heap.pprof of the window
#   FAILOVER_SCALE_BLACKHOLE=1 bench/scale.sh        # endpoints that accept and never answer: how soon
#                                                    # a fresh server gives its first answer
#   FAILOVER_SCALE_NICE=-10 bench/scale.sh           # on a shared machine: favour the test and its
#                                                    # backend over other work (needs root for < 0);
#                                                    # what is measured is unchanged, only who waits
set -uo pipefail
cd "$(dirname "$0")/.."

if [ -n "${FAILOVER_SCALE_PROFILE:-}" ]; then
  mkdir -p "$FAILOVER_SCALE_PROFILE"
  FAILOVER_SCALE_PROFILE=$(cd "$FAILOVER_SCALE_PROFILE" && pwd)
  export FAILOVER_SCALE_PROFILE
fi

out=$(mktemp)
trap 'rm -f "$out"' EXIT

run=(go test -run '^TestScale10k$' -v -count=1 -timeout 30m .)
if [ -n "${FAILOVER_SCALE_NICE:-}" ]; then
  # With autogroup scheduling, nice only ranks processes within their
  # session; a session of its own whose group nice is set ranks the test
  # and its backend against everything else on the machine.
  if [ -w /proc/self/autogroup ]; then
    run=(setsid --wait bash -c 'echo "$0" >/proc/self/autogroup && exec "$@"' "$FAILOVER_SCALE_NICE" "${run[@]}")
  else
    run=(nice -n "$FAILOVER_SCALE_NICE" "${run[@]}")
  fi
fi
FAILOVER_SCALE=1 "${run[@]}" >"$out" 2>&1
rc=$?

# The figures are the test's log lines that start with "| ".
sed -n 's/^ *scale_test\.go:[0-9]*: | //p' "$out"
if [ $rc -ne 0 ]; then
  # The end of the rest: which targets were missed (the plugin's own log,
  # thousands of lines when probes fail, comes before).
  echo
  grep -v 'scale_test\.go:[0-9]*: | ' "$out" | tail -n 25
fi
exit $rc
