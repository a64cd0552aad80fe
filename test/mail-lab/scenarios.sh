#!/usr/bin/env bash
# Sends the lab's scenario mails with swaks, each with a known Message-Id, then waits until both Postfix
# queues settle (only the down.test message left, deferred). The expected outcome of every recipient is
# listed in README.md and checked by mail-lab.test.ts: keep the three in step.
# Usage: scenarios.sh   (the lab must be up: setup.sh). swaks transcripts go to /var/lib/mail-lab/swaks.log.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SETTLE_TIMEOUT="${LAB_SETTLE_TIMEOUT:-180}"
TRANSCRIPT="$LAB_VAR/swaks.log"
SENDER=frank@lab.test
MID_DOMAIN=client.lab.test

: >"$TRANSCRIPT"

# swaks with the lab's common options; $1 is the scenario name, the rest go to swaks.
send() {
  local name="$1" rc=0
  shift
  log "scenario $name"
  printf '\n===== %s\n' "$name" >>"$TRANSCRIPT"
  swaks --server 127.0.0.1 --helo client.lab.test --timeout 60 "$@" >>"$TRANSCRIPT" 2>&1 || rc=$?
  printf '===== %s: swaks exit %s\n' "$name" "$rc" >>"$TRANSCRIPT"
  return "$rc"
}

# A scenario whose SMTP transaction must succeed.
send_ok() {
  send "$@" || die "swaks failed for scenario $1 (see $TRANSCRIPT)"
}

# A scenario that the server must refuse (swaks exits non-zero on a rejected RCPT).
send_refused() {
  if send "$@"; then
    die "scenario $1 was accepted, expected a refusal (see $TRANSCRIPT)"
  fi
}

mail() {
  local name="$1" to="$2" subject="$3" body="$4"
  shift 4
  send_ok "$name" --from "$SENDER" --to "$to" --header "Message-Id: <lab-$name@$MID_DOMAIN>" \
    --header "Subject: $subject" --body "$body" "$@"
}

# The EICAR test file, put together here so this script is not itself the signature.
eicar() {
  # shellcheck disable=SC2016  # literal dollars
  printf '%s%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-' 'ANTIVIRUS-TEST-FILE!$H+H*'
}

GTUBE='XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X'

# Logs in over IMAP as user $1 with password $2 (plain LOGIN on loopback), then logs out.
imap_login() {
  local user="$1" pass="$2" line
  exec 3<>/dev/tcp/127.0.0.1/143
  IFS= read -r -t 10 line <&3
  printf 'a1 LOGIN %s %s\r\na2 LOGOUT\r\n' "$user" "$pass" >&3
  while IFS= read -r -t 10 line <&3; do
    printf 'imap %s: %s\n' "$user" "$line" >>"$TRANSCRIPT"
    [[ "$line" == a2\ * ]] && break
  done
  exec 3<&-
}

send_scenarios() {
  mail local-two 'alice@lab.test,bob@lab.test' 'Lab: local delivery to two' 'Two local mailboxes.'
  mail remote-ok dave@remote.test 'Lab: to remote.test' 'Relayed to the second Postfix.'
  mail remote-unknown zed@remote.test 'Lab: unknown remote user' 'remote.test answers 550 5.1.1.'
  mail down ops@down.test 'Lab: destination down' 'Nothing listens on 127.0.0.3:25.'
  # Refused at RCPT, no message: traced by address.
  send_refused reject-unknown --from "$SENDER" --to nobody@lab.test
  # One recipient accepted, one refused, in the same session.
  mail mixed 'carol@lab.test,ghost@lab.test' 'Lab: one valid, one unknown' 'carol gets it, ghost does not.'
  mail spam-gtube alice@lab.test 'Lab: GTUBE' "$GTUBE"
  mail virus-eicar bob@lab.test 'Lab: EICAR' "$(eicar)"
  send_ok submission --port 587 --auth PLAIN --auth-user alice@lab.test --auth-password lab-secret \
    --from alice@lab.test --to erin@remote.test --header "Message-Id: <lab-submission@$MID_DOMAIN>" \
    --header 'Subject: Lab: submission with SASL' --body 'Sent by an authenticated user.'
  imap_login alice@lab.test lab-secret
  imap_login bob@lab.test wrong-password
}

# Queue ids in a `postqueue -p` listing ($1), one per line, with the mark Postfix appends (* active,
# ! held): the lines whose second field is the size ("Mail queue is empty" has none).
queue_entries() {
  awk 'NF >= 2 && $1 ~ /^[0-9A-Za-z]+[*!]?$/ && $2 ~ /^[0-9]+$/ {print $1}' <<<"$1"
}

# Settled: instance 1 holds exactly one message, deferred, for ops@down.test; instance 2 is empty.
settled() {
  local first second ids
  first="$(postqueue -c "$PF1_CONF" -p)"
  second="$(postqueue -c "$PF2_CONF" -p)"
  [[ -z "$(queue_entries "$second")" ]] || return 1
  ids="$(queue_entries "$first")"
  [[ -n "$ids" && "$ids" != *$'\n'* && "$ids" != *[*!] ]] || return 1
  # Deferred, not merely waiting for amavisd-new: postqueue shows the reason of the last attempt.
  [[ "$first" == *'ops@down.test'* &&
    "$first" == *'(connect to 127.0.0.3[127.0.0.3]:25: Connection refused)'* ]]
}

wait_settled() {
  local i
  for ((i = 0; i < SETTLE_TIMEOUT; i++)); do
    if settled; then
      log "queues settled after ${i}s"
      # The last lines may still be on their way to the log files (syslog, postlogd).
      sleep 2
      return 0
    fi
    sleep 1
  done
  postqueue -c "$PF1_CONF" -p >&2 || true
  postqueue -c "$PF2_CONF" -p >&2 || true
  die "queues did not settle in ${SETTLE_TIMEOUT}s"
}

send_scenarios
wait_settled
