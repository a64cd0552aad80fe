# Shared paths and helpers of the mail lab, sourced by setup.sh, scenarios.sh, collect.sh, teardown.sh.
# shellcheck shell=bash disable=SC2034  # the variables are for the scripts that source this file

LAB_SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LAB_CONF_SRC="$LAB_SRC/conf"

# Everything the lab writes at run time lives under these few roots, so teardown and reset know them all.
LAB_ETC=/etc/mail-lab                 # copies of conf/ for daemons started with an explicit config path
LAB_RUN=/run/mail-lab                 # pid files and sockets of the lab's daemons
LAB_VAR=/var/lib/mail-lab             # ClamAV database, rsyslog work dir
LAB_LOG=/var/log/mail-lab             # every log file the lab's programs write
PF1_CONF=/etc/postfix                 # instance 1: mx.lab.test on 127.0.0.1
PF2_CONF=/etc/postfix-remote          # instance 2: mx.remote.test on 127.0.0.2

# Log files the lab produces (see README.md).
LAB_LOG_FILES=(mail.log dovecot.log postfix-remote.log clamd.log)

LAB_PACKAGES=(
  postfix dovecot-core dovecot-lmtpd dovecot-imapd amavisd-new spamassassin spamd spamc spamass-milter
  clamav-daemon swaks rsyslog iproute2
)

# TCP ports the lab listens on (127.0.0.1, and 127.0.0.2:25 for the second Postfix).
LAB_PORTS=(24 25 143 587 783 7357 10024 10025 12345)

log() { printf '[mail-lab] %s\n' "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

# True when the process in pid file $1 is alive.
pid_alive() {
  local pid
  [[ -s "$1" ]] || return 1
  pid="$(tr -dc '0-9' <"$1")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null
}

# Wait up to $3 seconds for a TCP listener on address $1 port $2. Asks the kernel (ss) rather than
# connecting, so the daemons log no probe connections.
wait_tcp() {
  local addr="$1" port="$2" limit="$3" i
  for ((i = 0; i < limit * 4; i++)); do
    if ss -Hltn "sport = :$port" | awk '{print $4}' | grep -qxF "$addr:$port"; then
      return 0
    fi
    sleep 0.25
  done
  die "nothing listens on $addr:$port after ${limit}s"
}

# Wait up to $2 seconds for a Unix socket at $1.
wait_socket() {
  local path="$1" limit="$2" i
  for ((i = 0; i < limit * 4; i++)); do
    [[ -S "$path" ]] && return 0
    sleep 0.25
  done
  die "no socket at $path after ${limit}s"
}
