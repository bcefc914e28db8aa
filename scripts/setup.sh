#!/usr/bin/env bash
# Create .venv with Python 3.10 and the pinned dependencies, then build the local spaCy
# pipeline. Idempotent: does nothing when the lock file has not changed since last time.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/debian.sh

VENV=.venv
STAMP="$VENV/.installed"
# The development lock: the runtime lock plus the test and lint tools (see `make lock`).
LOCK=requirements-dev.lock

find_python310() {
  local candidate
  # An explicit choice wins; then pyenv's installs (where this machine keeps 3.10);
  # then whatever python3.10 the system has.
  for candidate in "${PYTHON310:-}" \
      $(ls -d "$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"/versions/3.10.*/bin/python 2>/dev/null | sort -V -r) \
      "$(command -v python3.10 2>/dev/null || true)" /usr/bin/python3.10 /usr/local/bin/python3.10; do
    [ -n "$candidate" ] && [ -x "$candidate" ] || continue
    if "$candidate" -c 'import sys, venv; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

# The lead-store tests run against a real PostgreSQL server (Debian's package).
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  debian_install "the PostgreSQL lead-store tests" postgresql || true
fi

# `make cluster` and its tests run nginx in front of the replicas and Redis for their locks.
missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null || missing+=(nginx)
if [ ${#missing[@]} -gt 0 ]; then
  debian_install "\`make cluster\` and its tests" "${missing[@]}" || true
fi

wanted="$(sha256sum "$LOCK" | cut -d' ' -f1)"
if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$wanted" ]; then
  exit 0
fi

if ! python310="$(find_python310)"; then
  cat >&2 <<'MSG'
error: Python 3.10 is required (Rasa Open Source 3.6 does not run on 3.11 or newer) and
none was found. Install it, then run the command again:
  - with pyenv:   pyenv install 3.10.13
  - on Debian/Ubuntu: apt-get install python3.10 python3.10-venv
or point PYTHON310 at a 3.10 interpreter: PYTHON310=/path/to/python3.10 make run
MSG
  exit 1
fi

echo "Setting up $VENV with $python310 ($("$python310" --version 2>&1))"
rm -rf "$VENV"
"$python310" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "pip==24.0"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$LOCK"
"$VENV/bin/python" -m pip check
echo "$wanted" > "$STAMP"
