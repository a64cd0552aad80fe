#!/usr/bin/env bash
# Stops every daemon the mail lab started, found by the pid files it told each one to write; it never
# stops a process by name. Safe to run when nothing runs. Leaves logs, queues and mailboxes in place.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Sends TERM to the process in pid file $2 (named $1), waits up to 20 s, then KILL.
stop_pidfile() {
  local name="$1" file="$2" pid i
  pid_alive "$file" || return 0
  pid="$(tr -dc '0-9' <"$file")"
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < 80; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.25
  done
  log "$name did not stop in 20s, killing it"
  kill -KILL "$pid" 2>/dev/null || true
}

stop_postfix() {
  local conf="$1" queue
  [[ -f "$conf/main.cf" ]] || return 0
  queue="$(postconf -c "$conf" -h queue_directory 2>/dev/null)" || return 0
  pid_alive "$queue/pid/master.pid" || return 0
  log "stopping postfix ($conf)"
  postfix -c "$conf" stop >/dev/null 2>&1 || true
  stop_pidfile "postfix master ($conf)" "$queue/pid/master.pid"
}

stop_postfix "$PF1_CONF"
stop_postfix "$PF2_CONF"
stop_pidfile amavisd "$LAB_RUN/amavis/amavisd.pid"
stop_pidfile spamass-milter "$LAB_RUN/spamass/spamass-milter.pid"
stop_pidfile spamd "$LAB_RUN/spamd/spamd.pid"
stop_pidfile clamd "$LAB_RUN/clamav/clamd.pid"
stop_pidfile dovecot "$LAB_RUN/dovecot/master.pid"
if pid_alive "$LAB_RUN/rsyslogd.pid"; then
  # Let the others' last lines reach the file first.
  sleep 1
  stop_pidfile rsyslogd "$LAB_RUN/rsyslogd.pid"
fi
