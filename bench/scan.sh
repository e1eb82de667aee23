#!/usr/bin/env bash
# The README's "Performance" comparison for mailwire scan (issue 13): a full
# scan of a host's seven mail ports by mailwire, timed beside testssl.sh
# -p -E (the protocols, and the cipher suites per protocol) over the same
# seven ports, for the lab (mailwire lab, on loopback) and for the peers'
# Postfix and Dovecot (../shared/peers). testssl runs its ports one after
# the other (its usual use) and, to be fair to it, also all seven at once.
#
#   bash bench/scan.sh                      # from the project root
#   RUNS=5 TESTSSL_RUNS=1 PEERS_ADDR=127.0.0.2 bash bench/scan.sh
#   ONLY=lab bash bench/scan.sh             # lab or peers
#
# mailwire is built first (MAILWIRE_BIN names a binary to use instead).
# mailwire's scan does more than testssl -p -E on each port (the session a
# client gets, STARTTLS and the capabilities, the login before TLS with a
# decoy, STARTTLS injection, the certificates, ALPN), so the comparison
# favours testssl. Both are measured wall-clock on the same machine in the
# same run; the machine is shared, so the load average is printed too.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${RUNS:-5}
truns=${TESTSSL_RUNS:-1}
addr=${PEERS_ADDR:-127.0.0.2}
ca=${CA:-/tmp/mailpeers/ca.pem}
offset=${LAB_OFFSET:-23000}
bin=${MAILWIRE_BIN:-/tmp/mailwire-scan-bench}
state=$(mktemp -d)
out=$(mktemp -d)
trap 'kill "${labpid:-0}" 2>/dev/null || true; rm -rf "$state" "$out"' EXIT

testssl=$(command -v testssl || command -v testssl.sh || true)
if [ -z "$testssl" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq testssl.sh >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq testssl.sh >/dev/null; }
  testssl=$(command -v testssl || command -v testssl.sh)
fi
[ -n "${MAILWIRE_BIN:-}" ] && [ -x "$bin" ] || go build -o "$bin" ./cmd/mailwire

ports=(25 587 465 110 995 143 993)
starttls() { # the testssl --starttls argument of a port, if any
  case $1 in 25|587) echo "--starttls smtp";; 110) echo "--starttls pop3";; 143) echo "--starttls imap";; *) echo "";; esac
}
now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# bench NAME HOST PORTMAP SCANARGS: PORTMAP maps each canonical port to
# the port dialed ("25=23025,..." for the lab; empty for the peers).
bench() {
  local name=$1 host=$2 map=$3; shift 3
  local times=() t0 t1
  for _ in $(seq "$runs"); do
    t0=$(now)
    "$bin" scan "$host" ${map:+--ports "$map"} "$@" --format json >"$out/$name.json" 2>/dev/null || [ $? -eq 3 ]
    t1=$(now)
    times+=("$(echo "$t1 - $t0" | bc)")
  done
  local m; m=$(printf '%s\n' "${times[@]}" | median)
  local probes; probes=$(python3 -c "import json;r=json.load(open('$out/$name.json'));print(sum(p['tls']['probes'] for p in r['ports'] if p.get('tls')))")
  echo "$name: mailwire scan, median of $runs: ${m} s ($probes TLS probes, plus 18 sessions)"

  local seq=() par=()
  for _ in $(seq "$truns"); do
    t0=$(now)
    for p in "${ports[@]}"; do
      dial=$p; [ -n "$map" ] && dial=$((p + offset))
      # shellcheck disable=SC2046
      "$testssl" --quiet --color 0 --warnings batch -p -E $(starttls "$p") "$host:$dial" >"$out/$name-$p.txt" 2>&1 || true
    done
    t1=$(now); seq+=("$(echo "$t1 - $t0" | bc)")
    t0=$(now)
    local pids=()
    for p in "${ports[@]}"; do
      dial=$p; [ -n "$map" ] && dial=$((p + offset))
      # shellcheck disable=SC2046
      "$testssl" --quiet --color 0 --warnings batch -p -E $(starttls "$p") "$host:$dial" >"$out/$name-par-$p.txt" 2>&1 &
      pids+=($!)
    done
    # Only testssl's: a bare wait would wait for the lab in the background.
    wait "${pids[@]}" || true
    t1=$(now); par+=("$(echo "$t1 - $t0" | bc)")
  done
  local ms mp; ms=$(printf '%s\n' "${seq[@]}" | median); mp=$(printf '%s\n' "${par[@]}" | median)
  echo "$name: testssl -p -E, seven ports one after the other: ${ms} s; all seven at once: ${mp} s"
  echo "$name: mailwire is $(echo "scale=1; $ms / $m" | bc)x faster than testssl sequential, $(echo "scale=1; $mp / $m" | bc)x than testssl in parallel"
  echo "$name: load average $(cut -d' ' -f1-3 /proc/loadavg)"
}

if [ "${ONLY:-lab}" = lab ] || [ -z "${ONLY:-}" ]; then
  "$bin" lab --port-offset "$offset" --state-dir "$state" >/dev/null 2>&1 &
  labpid=$!
  for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$((993 + offset))) 2>/dev/null && break; sleep 0.1; done
  map=$(for p in "${ports[@]}"; do printf '%s=%s,' "$p" $((p + offset)); done); map=${map%,}
  bench lab 127.0.0.1 "$map" --sni mail.lab.test --ca-file "$state/ca.pem"
  kill "$labpid" 2>/dev/null || true; labpid=
fi
if [ "${ONLY:-peers}" = peers ] || [ -z "${ONLY:-}" ]; then
  [ -r "$ca" ] || { echo "no CA at $ca: start ../shared/peers/start-peers.sh" >&2; exit 1; }
  bench peers "$addr" "" --sni mail.peers.test --ca-file "$ca"
fi
