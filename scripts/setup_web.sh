#!/usr/bin/env bash
# The website widget's dependencies. Idempotent and quick when nothing changed.
#   setup_web.sh            npm packages from web/package-lock.json (deep-chat, axe-core)
#   setup_web.sh --browser  also Debian's chromium, which the browser tests drive
# No browser is ever downloaded by Playwright: the tests use /usr/bin/chromium.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root_apt() {
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null
}

apt_install() {
  # Another apt run (an engineer's, unattended upgrades) may hold the lock for a while.
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq "$@" >/dev/null
}

if ! command -v npm >/dev/null; then
  if as_root_apt; then
    echo "Installing Node.js and npm (Debian packages) for the chat widget"
    apt_install nodejs npm
  else
    echo "error: npm is needed to install the chat widget (web/package.json): sudo apt-get install nodejs npm" >&2
    exit 1
  fi
fi

STAMP=web/node_modules/.installed
wanted="$(sha256sum web/package-lock.json | cut -d' ' -f1)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$wanted" ]; then
  echo "Installing the chat widget's npm packages (web/package-lock.json)"
  (cd web && npm ci --no-audit --no-fund --loglevel=error)
  echo "$wanted" > "$STAMP"
fi

if [ "${1:-}" = "--browser" ] && [ ! -x /usr/bin/chromium ]; then
  if as_root_apt; then
    echo "Installing Chromium (Debian package) for the browser tests"
    apt_install chromium
  else
    echo "note: the browser tests need Debian's Chromium at /usr/bin/chromium: sudo apt-get install chromium" >&2
  fi
fi
