#!/usr/bin/env bash
# What `make test` needs from Debian besides Python: each name given (postgresql, chromium, npm,
# faketime) is checked; as root the missing ones are installed with apt-get (as .ci/run does),
# otherwise this stops at once with the exact command to run. No test is ever skipped for want
# of one of them (OUTCOMES_NO_SKIPS, tests/conftest.py).
set -euo pipefail

missing=()
for need in "$@"; do
  case "$need" in
    postgresql) compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null || missing+=(postgresql) ;;
    chromium) [ -x /usr/bin/chromium ] || missing+=(chromium) ;;
    npm) command -v npm >/dev/null || missing+=(npm) ;;
    faketime) command -v faketime >/dev/null || missing+=(faketime) ;;
    *) echo "system-packages.sh: unknown requirement '$need'" >&2; exit 2 ;;
  esac
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$EUID" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "Installing ${missing[*]} (needed by the tests)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  exit 0
fi
echo "The tests need ${missing[*]}, which this machine lacks. Install with:" >&2
echo "  sudo apt-get install -y ${missing[*]}" >&2
exit 1
