#!/usr/bin/env bash
# Start the action server and the Rasa server; Ctrl-C (or either one dying) stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
# Every file the services create (databases with customers' data, logs, the nginx state) is private to
# this user: with the default umask the SQLite files were readable by every local account.
umask 077

RASA_PORT=${RASA_PORT:-5005}
ACTION_PORT=${ACTION_PORT:-5055}
export SUPPORT_PORT=${SUPPORT_PORT:-8000}
# shellcheck source=scripts/start-common.sh
source scripts/start-common.sh
default_settings
export RASA_TRACKER_DB=${RASA_TRACKER_DB:-var/rasa-tracker.sqlite3}
# The demo (docs/configuration.md#adopting-destek-for-another-company): demo customers and staff,
# the Pusula brand. Set either one empty (e.g. in .env) to turn it off.
export DESTEK_DEMO_DATA=${DESTEK_DEMO_DATA-1}
export DESTEK_BRAND_NAME=${DESTEK_BRAND_NAME-Pusula}
mkdir -p var

load_secrets
listen_addresses
ACTION_HOST=$(.venv/bin/python -m security.listen actions)

trap stop INT TERM EXIT
.venv/bin/python -m bot.action_server --host "$ACTION_HOST" --port "$ACTION_PORT" &
pids+=($!)
# scripts/rasa_cli.py hands RASA_AUTH_TOKEN to Rasa inside the process (a command line shows in `ps`).
.venv-rasa/bin/python -m scripts.rasa_cli run --model bot/models --endpoints endpoints.yml --credentials credentials.yml \
  --interface "$RASA_HOST" --port "$RASA_PORT" --enable-api --cors "${cors_origins[@]}" &
pids+=($!)
start_single_services

all_up() {
  curl -fsS -K - <<<"url = \"http://127.0.0.1:${RASA_PORT}/status?token=${RASA_AUTH_TOKEN}\"" >/dev/null 2>&1 \
    && curl -fsS "http://127.0.0.1:${ACTION_PORT}/health" >/dev/null 2>&1 \
    && curl -fsS "http://127.0.0.1:${SUPPORT_PORT}/healthz" >/dev/null 2>&1
}
if wait_until_up 120 all_up; then
  cat <<MSG

Destek is running.
  Demo shop:    http://localhost:${SUPPORT_PORT}  (chat widget bottom right; logins ayse / john / mehmet, password demo)
  Staff:        http://localhost:${SUPPORT_PORT}/staff  (inbox, review, dashboard, campaigns, incidents; logins admin / agent1 / agent2 / marketing / ops, password: STAFF_DEMO_PASSWORD, demo-staff by default)
  Talk to it:   make shell            (in another terminal; Turkish or English)
  REST channel: curl -XPOST http://localhost:${RASA_PORT}/webhooks/rest/webhook -d '{"sender":"me","message":"siparişim nerede?"}'
                (its own "rest:" conversations; add -H "Authorization: Bearer \$REST_CHANNEL_TOKEN" when that is set)
  Secrets:      ${SECRETS_FILE} (generated once per install; docs/security.md)
  Listening on: ${DESTEK_EXPOSE:-127.0.0.1 only}  (DESTEK_EXPOSE=rasa to let the widget and Twilio reach Rasa)
  Actions:      http://localhost:${ACTION_PORT}/health
  WhatsApp:     http://localhost:${FAKE_TWILIO_PORT}  (fake Twilio when TWILIO_ACCOUNT_SID is empty: play a customer)
Press Ctrl-C to stop.
MSG
fi
wait -n "${pids[@]}"
