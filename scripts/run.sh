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
export ACTION_SERVER_URL=${ACTION_SERVER_URL:-http://127.0.0.1:${ACTION_PORT}/webhook}
export RASA_TRACKER_DB=${RASA_TRACKER_DB:-var/rasa-tracker.sqlite3}
# WhatsApp: without a Twilio account the local fake of Twilio's API (fake_twilio) plays Twilio.
export PUBLIC_URL=${PUBLIC_URL:-http://localhost:${RASA_PORT}}
FAKE_TWILIO_PORT=${FAKE_TWILIO_PORT:-5099}
[ -n "${TWILIO_ACCOUNT_SID:-}" ] || export TWILIO_API_BASE=${TWILIO_API_BASE:-http://127.0.0.1:${FAKE_TWILIO_PORT}}
export RASA_URL=${RASA_URL:-http://127.0.0.1:${RASA_PORT}}
# The demo (docs/configuration.md#adopting-destek-for-another-company): demo customers and staff,
# the Pusula brand. Set either one empty (e.g. in .env) to turn it off.
export DESTEK_DEMO_DATA=${DESTEK_DEMO_DATA-1}
export DESTEK_BRAND_NAME=${DESTEK_BRAND_NAME-Pusula}
mkdir -p var

# Secrets (docs/security.md): each one the environment leaves unset gets a random value kept per
# install in var/secrets.env (mode 0600); a published default is refused, naming the variable.
# With a real Twilio account, TWILIO_AUTH_TOKEN must be that account's token: never generated.
SECRETS_FILE=${DESTEK_SECRETS_FILE:-var/secrets.env}
skip=()
[ -z "${TWILIO_ACCOUNT_SID:-}" ] || skip=(--skip TWILIO_AUTH_TOKEN)
secret_exports=$(.venv/bin/python -m security.secrets_policy --file "$SECRETS_FILE" "${skip[@]}")
eval "$secret_exports"
# Every listener on 127.0.0.1 unless DESTEK_EXPOSE names it (rasa, support, actions, fake_twilio).
RASA_HOST=$(.venv/bin/python -m security.listen rasa)
ACTION_HOST=$(.venv/bin/python -m security.listen actions)
SUPPORT_HOST=$(.venv/bin/python -m security.listen support)
FAKE_TWILIO_HOST=$(.venv/bin/python -m security.listen fake_twilio)
# CORS on the Rasa server: the widget's origins only (the socket checks them too).
origins=${WEBCHAT_ALLOWED_ORIGINS:-http://localhost:${SUPPORT_PORT},http://127.0.0.1:${SUPPORT_PORT}}
IFS=',' read -r -a cors_origins <<<"${origins// /}"

pids=()
stop() {
  trap - INT TERM EXIT
  echo "stopping…"
  kill "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
}
trap stop INT TERM EXIT

.venv/bin/python -m bot.action_server --host "$ACTION_HOST" --port "$ACTION_PORT" &
pids+=($!)
# scripts/rasa_cli.py hands RASA_AUTH_TOKEN to Rasa inside the process (a command line shows in `ps`).
.venv-rasa/bin/python -m scripts.rasa_cli run --model bot/models --endpoints endpoints.yml --credentials credentials.yml \
  --interface "$RASA_HOST" --port "$RASA_PORT" --enable-api --cors "${cors_origins[@]}" &
pids+=($!)
if [ -z "${TWILIO_ACCOUNT_SID:-}" ]; then
  .venv/bin/python -m fake_twilio --host "$FAKE_TWILIO_HOST" --port "$FAKE_TWILIO_PORT" --destek-url "http://127.0.0.1:${RASA_PORT}" &
  pids+=($!)
fi
.venv/bin/python -m support_app --host "$SUPPORT_HOST" --port "$SUPPORT_PORT" &
pids+=($!)
# The one campaign scheduler (proactive messages); a second one would only wait for its lease.
.venv/bin/python -m campaigns.scheduler &
pids+=($!)

for _ in $(seq 1 120); do
  # The token goes to curl on stdin (-K -), not on its command line.
  if curl -fsS -K - <<<"url = \"http://127.0.0.1:${RASA_PORT}/status?token=${RASA_AUTH_TOKEN}\"" >/dev/null 2>&1 \
     && curl -fsS "http://127.0.0.1:${ACTION_PORT}/health" >/dev/null 2>&1 \
     && curl -fsS "http://127.0.0.1:${SUPPORT_PORT}/healthz" >/dev/null 2>&1; then
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
    break
  fi
  sleep 1
done
wait -n "${pids[@]}"
