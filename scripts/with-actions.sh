#!/usr/bin/env bash
# Run a command (rasa interactive, rasa shell) next to Destek's action server: use the one
# already answering on ACTION_PORT (e.g. from `make run`), else start one and stop it afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
# Every file the services create (databases with customers' data, logs, the nginx state) is private to
# this user: with the default umask the SQLite files were readable by every local account.
umask 077

ACTION_PORT=${ACTION_PORT:-5055}
export ACTION_SERVER_URL=${ACTION_SERVER_URL:-http://127.0.0.1:${ACTION_PORT}/webhook}
export RASA_TRACKER_DB=${RASA_TRACKER_DB:-var/rasa-tracker.sqlite3}
mkdir -p var
# The action server and endpoints.yml need ACTION_SERVER_TOKEN: the install's own (see scripts/run.sh).
skip=()
[ -z "${TWILIO_ACCOUNT_SID:-}" ] || skip=(--skip TWILIO_AUTH_TOKEN)
secret_exports=$(.venv/bin/python -m security.secrets_policy --file "${DESTEK_SECRETS_FILE:-var/secrets.env}" "${skip[@]}")
eval "$secret_exports"

health="http://127.0.0.1:${ACTION_PORT}/health"
if curl -fsS --max-time 2 "$health" >/dev/null 2>&1; then
  echo "using the action server already running on port ${ACTION_PORT}"
else
  .venv/bin/python -m bot.action_server --port "$ACTION_PORT" >var/action-server.log 2>&1 &
  pid=$!
  trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true' EXIT
  for _ in $(seq 1 120); do
    curl -fsS --max-time 2 "$health" >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || { echo "error: the action server did not start; see var/action-server.log" >&2; exit 1; }
    sleep 1
  done
  curl -fsS --max-time 2 "$health" >/dev/null 2>&1 || { echo "error: the action server did not answer on ${health} within 120 s" >&2; exit 1; }
  echo "action server started on port ${ACTION_PORT} (log: var/action-server.log)"
fi
"$@"
