#!/usr/bin/env bash
# Start the action server, the Rasa server (REST channel) and the demo page with the chat
# widget; Ctrl-C stops all three. `run.sh shell` talks to the same assistant in the terminal
# instead of serving HTTP. Rasa starts through `python -m channels.server` (Rasa's command line
# with the speedups of channels/speedups.py; RASA_SPEEDUPS=off for plain Rasa).
set -euo pipefail
cd "$(dirname "$0")/.."

HOST="${HOST:-127.0.0.1}"
# The action server listens on loopback whatever HOST says: only the Rasa server calls it.
ACTIONS_HOST="${ACTIONS_HOST:-127.0.0.1}"
ACTIONS_PORT="${ACTIONS_PORT:-5055}"
RASA_PORT="${RASA_PORT:-5005}"
WEB_PORT="${WEB_PORT:-8080}"
# Where browsers reach the Rasa server, and the site origins allowed to call it (CORS):
# space- or comma-separated, never "*". By default only the demo page may.
ASSISTANT_URL="${ASSISTANT_URL:-http://${HOST}:${RASA_PORT}}"
ALLOWED_ORIGINS="${ALLOWED_ORIGINS:-http://${HOST}:${WEB_PORT}}"
read -r -a origins <<< "${ALLOWED_ORIGINS//,/ }"
for origin in "${origins[@]}"; do
  if [[ "$origin" == *"*"* ]]; then
    echo "ALLOWED_ORIGINS must list the site origins exactly (e.g. https://www.college.edu), not '$origin'." >&2
    exit 1
  fi
done
MODEL="${MODEL:-models/admissions.tar.gz}"
mkdir -p runtime
# The secret both servers share (endpoints.yml sends it as ${ACTIONS_TOKEN}): generated once
# into runtime/, readable by this user only, unless ACTIONS_TOKEN is set.
if [ -z "${ACTIONS_TOKEN:-}" ]; then
  if [ ! -s runtime/actions-token ]; then
    (umask 077 && .venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(32))' > runtime/actions-token)
  fi
  ACTIONS_TOKEN="$(< runtime/actions-token)"
fi
export ACTIONS_TOKEN ACTIONS_HOST
actions_address="$ACTIONS_HOST"
[[ "$ACTIONS_HOST" == "0.0.0.0" || "$ACTIONS_HOST" == "::" ]] && actions_address=127.0.0.1
ENDPOINTS=runtime/endpoints.yml
sed "s#http://localhost:5055#http://${actions_address}:${ACTIONS_PORT}#" endpoints.yml > "$ENDPOINTS"

# The key of the Rasa server's pseudonymous client addresses (channels/door.py): generated once
# into runtime/ (readable by its owner only) unless set, so the keys survive a restart.
if [ -z "${CLIENT_KEY_SECRET:-}" ]; then
  if [ ! -s runtime/client-key-secret ]; then
    (umask 077 && .venv/bin/python -c "import secrets; print(secrets.token_hex(32))" > runtime/client-key-secret)
  fi
  CLIENT_KEY_SECRET="$(cat runtime/client-key-secret)"
fi

pids=()
stop() {
  trap - INT TERM HUP EXIT
  [ ${#pids[@]} -gt 0 ] && kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap stop INT TERM HUP EXIT

# The action server reads the same tracker_store section (retention, erasure) as Rasa.
ENDPOINTS_FILE="$ENDPOINTS" .venv/bin/python -m actions --port "$ACTIONS_PORT" &
pids+=($!)

# Wait for the action server so the first visitor is not answered with an error.
for _ in $(seq 1 120); do
  if .venv/bin/python -c "import socket,sys; socket.create_connection(('$actions_address', $ACTIONS_PORT), 1)" 2>/dev/null; then break; fi
  kill -0 "${pids[0]}" 2>/dev/null || { echo "The action server stopped; see the message above." >&2; exit 1; }
  sleep 0.5
done

if [ "${1:-}" = "shell" ]; then
  .venv/bin/python -m channels.server shell -m "$MODEL" -i "$HOST" -p "$RASA_PORT" --endpoints "$ENDPOINTS"
  exit 0
fi

.venv/bin/python -m web.serve --host "$HOST" --port "$WEB_PORT" --server-url "$ASSISTANT_URL" &
pids+=($!)

echo "Rasa REST webhook: http://${HOST}:${RASA_PORT}/webhooks/rest/webhook  (CORS: ${origins[*]})"
echo "Demo page with the chat widget: http://${HOST}:${WEB_PORT}/  (Ctrl-C stops everything)"
CLIENT_KEY_SECRET="$CLIENT_KEY_SECRET" .venv/bin/python -m channels.server run -m "$MODEL" -i "$HOST" -p "$RASA_PORT" --endpoints "$ENDPOINTS" \
  --credentials credentials.yml --cors "${origins[@]}" &
pids+=($!)
wait -n "${pids[@]}"
