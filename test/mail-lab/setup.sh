#!/usr/bin/env bash
# Installs (from Debian's packages), configures and starts the mail lab on loopback; see README.md.
# Idempotent: a second run stops the lab's daemons, rewrites the configuration, empties queues, mailboxes
# and log files, and starts everything again, so each run's logs hold only that run.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[[ "$(id -u)" == 0 ]] || die "the mail lab needs root"
command -v apt-get >/dev/null || die "the mail lab needs apt-get (Debian 12)"

install_packages() {
  local missing=() pkg
  for pkg in "${LAB_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  ((${#missing[@]} == 0)) && return 0
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Postfix asks debconf for its setup type; the lab writes its own main.cf anyway.
  echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections
  # The packages' own start scripts must not start Debian's default daemons (on every interface, on the
  # lab's ports): the lab starts its own. Containers usually have this policy already.
  local own_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    own_policy=1
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if ((own_policy)); then rm -f /usr/sbin/policy-rc.d; fi
  # spamassassin's postinst imports sa-update's keys with a gpg-agent it leaves running.
  if [[ -d /var/lib/spamassassin/sa-update-keys ]]; then
    gpgconf --homedir /var/lib/spamassassin/sa-update-keys --kill gpg-agent 2>/dev/null || true
  fi
}

# After teardown nothing of the lab listens: whatever holds one of its ports belongs to someone else.
check_ports_free() {
  local port busy=()
  for port in "${LAB_PORTS[@]}"; do
    if ss -Hltn "sport = :$port" | awk '{print $4}' | grep -qE "^(127\.0\.0\.[12]|0\.0\.0\.0|\*|\[::\]):$port\$"; then
      busy+=("$port")
    fi
  done
  ((${#busy[@]} == 0)) || die "TCP ports the lab needs are taken by other programs: ${busy[*]} (see ss -ltnp)"
}

ensure_users() {
  getent group vmail >/dev/null || groupadd --system vmail
  getent passwd vmail >/dev/null ||
    useradd --system --gid vmail --home-dir /var/mail --no-create-home --shell /usr/sbin/nologin vmail
  # Debian's way for clamd to read amavis's temporary files (README.Debian of amavisd-new).
  id -nG clamav | grep -qw amavis || usermod -a -G amavis clamav
}

# The lab's host names in /etc/hosts, so that nothing asks DNS for them.
ensure_hosts() {
  # Debian's Postfix package writes /etc/mailname, amavis's 05-domain_id reads it.
  [[ -s /etc/mailname ]] || echo mx.lab.test >/etc/mailname
  local begin='# mail-lab begin' end='# mail-lab end'
  sed -i "/^$begin\$/,/^$end\$/d" /etc/hosts
  { echo "$begin"; cat "$LAB_CONF_SRC/hosts"; echo "$end"; } >>/etc/hosts
}

# Keeps Debian's original file once, then installs ours.
install_file() {
  local src="$1" dst="$2" mode="${3:-0644}"
  if [[ -e "$dst" && ! -e "$dst.mail-lab-orig" ]] && ! grep -q 'mailtrace mail lab' "$dst"; then
    cp -p "$dst" "$dst.mail-lab-orig"
  fi
  install -m "$mode" "$src" "$dst"
}

configure_dirs() {
  install -d -m 0755 "$LAB_ETC" "$LAB_RUN" "$LAB_VAR" "$LAB_LOG" "$LAB_VAR/rsyslog"
  install -d -m 0755 -o clamav -g clamav "$LAB_RUN/clamav" "$LAB_VAR/clamav" "$LAB_VAR/clamtmp"
  install -d -m 0755 -o amavis -g amavis "$LAB_RUN/amavis"
  install -d -m 0755 -o spamass-milter -g spamass-milter "$LAB_RUN/spamass"
  install -d -m 0755 "$LAB_RUN/spamd"
  install -d -m 0755 -o vmail -g vmail /var/mail/lab /var/mail/remote
}

configure_postfix() {
  local f
  install_file "$LAB_CONF_SRC/postfix/main.cf" "$PF1_CONF/main.cf"
  install_file "$LAB_CONF_SRC/postfix/master.cf" "$PF1_CONF/master.cf"
  for f in lab-vmailbox lab-transport lab-header-checks; do
    install -m 0644 "$LAB_CONF_SRC/postfix/$f" "$PF1_CONF/$f"
  done
  postmap "$PF1_CONF/lab-vmailbox" "$PF1_CONF/lab-transport"

  install -d -m 0755 "$PF2_CONF"
  sed -e "s/@VMAIL_UID@/$(id -u vmail)/" -e "s/@VMAIL_GID@/$(getent group vmail | cut -d: -f3)/" \
    "$LAB_CONF_SRC/postfix-remote/main.cf" >"$PF2_CONF/main.cf"
  install -m 0644 "$LAB_CONF_SRC/postfix-remote/master.cf" "$PF2_CONF/master.cf"
  install -m 0644 "$LAB_CONF_SRC/postfix-remote/vmailbox" "$PF2_CONF/vmailbox"
  postmap "$PF2_CONF/vmailbox"
  # `postfix check` creates what is missing inside the second instance's queue directory, with Postfix's
  # own ownership and modes (postmulti -e create would do the same).
  install -d -m 0755 /var/spool/postfix-remote
  install -d -m 0700 -o postfix -g postfix /var/lib/postfix-remote
  postfix_cmd -c "$PF2_CONF" check
  postfix_cmd -c "$PF1_CONF" check
}

# Runs postfix(1). It logs its errors to syslog, which may not run yet, and to stderr only when that is a
# terminal: on failure, run it again under script(1) so the reason shows.
postfix_cmd() {
  postfix "$@" && return 0
  script -qec "postfix $*" /dev/null >&2 || true
  die "postfix $* failed"
}

configure_others() {
  install -m 0644 "$LAB_CONF_SRC/dovecot/dovecot.conf" "$LAB_ETC/dovecot.conf"
  install -m 0640 -g dovecot "$LAB_CONF_SRC/dovecot/dovecot-users" "$LAB_ETC/dovecot-users"
  install -m 0644 "$LAB_CONF_SRC/clamav/clamd.conf" "$LAB_ETC/clamd.conf"
  install -m 0644 -o clamav -g clamav "$LAB_CONF_SRC/clamav/lab.ndb" "$LAB_VAR/clamav/lab.ndb"
  install -m 0644 "$LAB_CONF_SRC/rsyslog/rsyslog.conf" "$LAB_ETC/rsyslog.conf"
  install -m 0644 "$LAB_CONF_SRC/amavis/60-mailtrace-lab" /etc/amavis/conf.d/60-mailtrace-lab
}

# Empty queues, mailboxes, quarantine and logs, so a run's captured logs hold that run only.
reset_state() {
  postsuper -c "$PF1_CONF" -d ALL >/dev/null 2>&1 || true
  postsuper -c "$PF2_CONF" -d ALL >/dev/null 2>&1 || true
  find /var/mail/lab /var/mail/remote -mindepth 1 -delete
  find /var/lib/amavis/virusmails -mindepth 1 -delete 2>/dev/null || true
  find /var/lib/amavis/tmp -mindepth 1 -maxdepth 1 -name 'amavis-*' -exec rm -rf {} + 2>/dev/null || true
  local f
  for f in "${LAB_LOG_FILES[@]}"; do
    rm -f "$LAB_LOG/$f"
  done
  # clamd writes its LogFile after dropping privileges to clamav.
  install -m 0640 -o clamav -g adm /dev/null "$LAB_LOG/clamd.log"
}

start_daemons() {
  log "starting rsyslogd"
  rsyslogd -f "$LAB_ETC/rsyslog.conf" -i "$LAB_RUN/rsyslogd.pid"
  wait_socket /dev/log 10

  log "starting clamd"
  clamd -c "$LAB_ETC/clamd.conf"
  wait_socket "$LAB_RUN/clamav/clamd.ctl" 60

  log "starting spamd"
  spamd --daemonize --pidfile="$LAB_RUN/spamd/spamd.pid" --listen=127.0.0.1:783 --allowed-ips=127.0.0.1 \
    --ipv4-only --local --nouser-config --username=debian-spamd --groupname=debian-spamd \
    --helper-home-dir=/var/lib/spamassassin --syslog=mail --max-children=2 --min-children=1
  log "starting spamass-milter"
  runuser -u spamass-milter -- spamass-milter -p inet:7357@127.0.0.1 -f -m \
    -P "$LAB_RUN/spamass/spamass-milter.pid" -- -d 127.0.0.1 -p 783

  log "starting amavisd"
  amavisd -P "$LAB_RUN/amavis/amavisd.pid" -L "$LAB_RUN/amavis/amavisd.lock" start

  log "starting dovecot"
  dovecot -c "$LAB_ETC/dovecot.conf"

  log "starting postfix (both instances)"
  postfix_cmd -c "$PF1_CONF" start
  postfix_cmd -c "$PF2_CONF" start

  wait_tcp 127.0.0.1 783 60
  wait_tcp 127.0.0.1 7357 20
  wait_tcp 127.0.0.1 10024 120
  wait_tcp 127.0.0.1 24 20
  wait_tcp 127.0.0.1 143 20
  wait_tcp 127.0.0.1 12345 20
  wait_tcp 127.0.0.1 25 20
  wait_tcp 127.0.0.1 587 20
  wait_tcp 127.0.0.1 10025 20
  wait_tcp 127.0.0.2 25 20
  log "all daemons are up"
}

install_packages
bash "$LAB_SRC/teardown.sh"
check_ports_free
ensure_users
ensure_hosts
configure_dirs
configure_postfix
configure_others
reset_state
start_daemons
