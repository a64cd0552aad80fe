#!/usr/bin/env bash
# The whole lab in one go: setup.sh, scenarios.sh, teardown.sh, then collect.sh into $1. Every daemon is
# stopped on the way out, also when a step fails (the logs are still collected then, for a look).
# Usage: run.sh OUTDIR
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

out="${1:?usage: run.sh OUTDIR}"

finish() {
  local rc=$?
  bash "$LAB_SRC/teardown.sh" || rc=1
  bash "$LAB_SRC/collect.sh" "$out" || rc=1
  exit "$rc"
}
trap finish EXIT

bash "$LAB_SRC/setup.sh"
bash "$LAB_SRC/scenarios.sh"
