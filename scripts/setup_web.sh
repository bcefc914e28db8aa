#!/usr/bin/env bash
# The website widget's dependencies. Idempotent and quick when nothing changed.
#   setup_web.sh            npm packages from web/package-lock.json (deep-chat, axe-core)
#   setup_web.sh --browser  also Debian's chromium, which the browser tests drive
# No browser is ever downloaded by Playwright: the tests use /usr/bin/chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/debian.sh

if ! command -v npm >/dev/null; then
  debian_install "the chat widget (npm, for web/package.json)" nodejs npm || exit 1
fi

STAMP=web/node_modules/.installed
wanted="$(sha256sum web/package-lock.json | cut -d' ' -f1)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$wanted" ]; then
  echo "Installing the chat widget's npm packages (web/package-lock.json)"
  (cd web && npm ci --no-audit --no-fund --loglevel=error)
  echo "$wanted" > "$STAMP"
fi

if [ "${1:-}" = "--browser" ] && [ ! -x /usr/bin/chromium ]; then
  debian_install "the browser tests (/usr/bin/chromium)" chromium || true
fi
