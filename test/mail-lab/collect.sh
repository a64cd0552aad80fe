#!/usr/bin/env bash
# Copies the log files the lab wrote, and the versions of the Debian packages that wrote them, into $1.
# Usage: collect.sh OUTDIR
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

out="${1:?usage: collect.sh OUTDIR}"
mkdir -p "$out"
for f in "${LAB_LOG_FILES[@]}"; do
  if [[ -f "$LAB_LOG/$f" ]]; then
    cp "$LAB_LOG/$f" "$out/$f"
    chmod 0644 "$out/$f"
  else
    log "warning: $LAB_LOG/$f is missing"
  fi
done
dpkg-query -W -f='${Package} ${Version}\n' "${LAB_PACKAGES[@]}" >"$out/package-versions.txt"
# What a reader needs for the lines without a zone or a host (Dovecot's and Postfix's own log files).
tz="$(cat /etc/timezone 2>/dev/null || true)"
[[ -n "$tz" ]] || tz="$(readlink /etc/localtime 2>/dev/null | sed 's#^.*/zoneinfo/##')"
{
  echo "timezone=${TZ:-${tz:-UTC}}"
  echo "hostname=$(hostname)"
} >"$out/lab-info.txt"
log "logs copied to $out"
