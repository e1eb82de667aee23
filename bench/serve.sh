#!/usr/bin/env bash
# The README's mailwire serve benchmark (issue 15 §3): a class of STUDENTS
# (30) SSH clients against one `mailwire serve` on loopback, each running
# a session on port 587 every second for a minute (bench/sshclass), with
# the frame latency the students see and the server's memory and CPU.
#
#   bash bench/serve.sh                       # from the project root
#   STUDENTS=30 DURATION=60s WIDTH=120 HEIGHT=40 bash bench/serve.sh
#
# The students are all on this machine, so their SSH clients and terminal
# emulators share its cores with the server: the latencies are those of a
# machine that runs the class and the class's terminals at once, which
# is more than a class server does. The load average is printed, since the
# machine may be shared.
set -euo pipefail
cd "$(dirname "$0")/.."

students=${STUDENTS:-30}
duration=${DURATION:-60s}
width=${WIDTH:-80}
height=${HEIGHT:-24}
port=${SSH_PORT:-22722}
offset=${LAB_OFFSET:-24000}
bin=${MAILWIRE_BIN:-}
state=$(mktemp -d)
log=$(mktemp)
trap 'kill "${srvpid:-0}" 2>/dev/null || true; wait "${srvpid:-0}" 2>/dev/null || true; rm -rf "$state" "$log"' EXIT

# MAILWIRE_BIN names a mailwire binary to use instead of building one.
if [ -z "$bin" ]; then
  bin=/tmp/mailwire-serve-bench
  go build -o "$bin" ./cmd/mailwire
fi
class=/tmp/mailwire-serve-bench-class
go build -o "$class" ./bench/sshclass

# Every student comes from 127.0.0.1: the per-address limit is the class.
XDG_CONFIG_HOME=$state "$bin" serve --ssh "127.0.0.1:$port" --state-dir "$state" --port-offset "$offset" \
  --max-students $((students + 5)) --max-per-address $((students + 5)) >"$log" 2>&1 &
srvpid=$!
for _ in $(seq 100); do
  grep -q "Students (ctrl+c to stop):" "$log" && break
  sleep 0.1
done
grep -q "Students (ctrl+c to stop):" "$log" || { cat "$log" >&2; exit 1; }

echo "mailwire serve benchmark, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$class" -addr "127.0.0.1:$port" -pid "$srvpid" -students "$students" -duration "$duration" -width "$width" -height "$height"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
