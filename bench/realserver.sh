#!/usr/bin/env bash
# The README's "Performance" comparison against a real server (issue 9):
# one STARTTLS + AUTH PLAIN + QUIT on port 587 of the peers' Postfix
# (../shared/peers), done by mailwire (--stop-after auth: no message sent),
# by openssl s_client piping the same commands, and by swaks
# (--quit-after AUTH), side by side in one hyperfine run (median of RUNS).
# All three verify the certificate against the peers' CA for the name
# mail.peers.test.
#
#   bash bench/realserver.sh            # from the project root, peers running
#   RUNS=30 PEERS_ADDR=127.0.0.2 CA=/tmp/mailpeers/ca.pem bash bench/realserver.sh
#
# mailwire is built first (go build), so the compile time of `go run` is
# not measured. hyperfine is installed with apt-get when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

addr=${PEERS_ADDR:-127.0.0.2}
ca=${CA:-/tmp/mailpeers/ca.pem}
runs=${RUNS:-20}
name=mail.peers.test
user=learner
export MAILWIRE_PASSWORD=${MAILWIRE_PASSWORD:-correct-horse}
bin=${MAILWIRE_BIN:-/tmp/mailwire-bench}
out=${OUT:-/tmp/mailwire-realserver-bench.md}

for tool in openssl swaks; do
  command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }
done
if ! command -v hyperfine >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq hyperfine >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq hyperfine >/dev/null; }
fi
[ -r "$ca" ] || { echo "no CA at $ca: start ../shared/peers/start-peers.sh" >&2; exit 1; }

go build -o "$bin" ./cmd/mailwire

# The same commands for s_client after its own EHLO and STARTTLS: EHLO
# again (RFC 3207 §4.2), AUTH PLAIN (RFC 4616 §2), QUIT. -quiet keeps
# reading after stdin ends, until Postfix closes after 221.
plain=$(printf '\0%s\0%s' "$user" "$MAILWIRE_PASSWORD" | base64 -w0)
script=$(mktemp) json=$(mktemp)
trap 'rm -f "$script" "$json"' EXIT
printf 'EHLO bench.mailwire.invalid\r\nAUTH PLAIN %s\r\nQUIT\r\n' "$plain" > "$script"

mailwire="$bin session --target $addr:587 --user $user --stop-after auth --ca-file $ca --sni $name --ehlo bench.mailwire.invalid"
sclient="openssl s_client -quiet -starttls smtp -connect $addr:587 -CAfile $ca -verify_hostname $name -servername $name -verify_return_error < $script"
swaks="swaks --server $addr --port 587 --tls --tls-verify --tls-ca-path $ca --tls-sni $name --ehlo bench.mailwire.invalid -a PLAIN -au $user -ap $MAILWIRE_PASSWORD --quit-after AUTH"

# Each must succeed before it is timed: the login accepted (235), exit 0.
# (Outputs are read whole: grep -q would stop reading early.)
check() { grep -q -- "$2" <<<"$3" || { echo "$1: no 235 after AUTH" >&2; exit 1; }; }
check mailwire '"code":"235"' "$($mailwire --format json 2>/dev/null)"
check s_client '^235 ' "$(sh -c "$sclient" 2>/dev/null)"
check swaks '<~  235 ' "$($swaks 2>&1)"

hyperfine --warmup 3 --runs "$runs" --export-markdown "$out" --export-json "$json" \
  -n "mailwire session --stop-after auth" "$mailwire" \
  -n "mailwire session --stop-after auth --format json" "$mailwire --format json" \
  -n "openssl s_client -starttls smtp" "$sclient" \
  -n "swaks --quit-after AUTH" "$swaks"

# Medians (and CPU time, user + system, which a busy machine disturbs
# less), and mailwire's medians against s_client's and swaks's (the
# targets: no slower than s_client, under 0.3x swaks).
echo
jq -r '
  (.results | map({(.command): .median}) | add) as $m
  | .results[] | "\(.median * 1000 | . * 10 | round / 10) ms median, \((.user + .system) * 1000 | . * 10 | round / 10) ms CPU  \(.command)"
    + (if (.command | startswith("mailwire")) and $m["openssl s_client -starttls smtp"] > 0 and $m["swaks --quit-after AUTH"] > 0 then
         "  (\(.median / $m["openssl s_client -starttls smtp"] * 100 | round / 100)x s_client, \(.median / $m["swaks --quit-after AUTH"] * 100 | round / 100)x swaks)"
       else "" end)' "$json"
echo "table: $out"
