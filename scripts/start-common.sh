# shellcheck shell=bash
# What `make run` (scripts/run.sh) and `make run-cluster` (scripts/run-cluster.sh) share, sourced by both
# from the repository's root with RASA_PORT, ACTION_PORT and SUPPORT_PORT set: the settings both default,
# the install's secrets, the listen addresses, the widget's origins, and starting, watching and stopping
# the processes. It starts nothing by being sourced.

# WhatsApp: without a Twilio account the local fake of Twilio's API (fake_twilio) plays Twilio.
default_settings() {
  export ACTION_SERVER_URL=${ACTION_SERVER_URL:-http://127.0.0.1:${ACTION_PORT}/webhook}
  export PUBLIC_URL=${PUBLIC_URL:-http://localhost:${RASA_PORT}}
  FAKE_TWILIO_PORT=${FAKE_TWILIO_PORT:-5099}
  [ -n "${TWILIO_ACCOUNT_SID:-}" ] || export TWILIO_API_BASE=${TWILIO_API_BASE:-http://127.0.0.1:${FAKE_TWILIO_PORT}}
  export RASA_URL=${RASA_URL:-http://127.0.0.1:${RASA_PORT}}
}

# Secrets (docs/security.md): each one the environment leaves unset gets a random value kept per
# install in SECRETS_FILE (mode 0600); a published default is refused, naming the variable.
# With a real Twilio account, TWILIO_AUTH_TOKEN must be that account's token: never generated.
load_secrets() {
  SECRETS_FILE=${DESTEK_SECRETS_FILE:-var/secrets.env}
  local skip=() secret_exports
  [ -z "${TWILIO_ACCOUNT_SID:-}" ] || skip=(--skip TWILIO_AUTH_TOKEN)
  secret_exports=$(.venv/bin/python -m security.secrets_policy --file "$SECRETS_FILE" "${skip[@]}")
  eval "$secret_exports"
}

# Every listener on 127.0.0.1 unless DESTEK_EXPOSE names it (rasa, support, fake_twilio; run.sh: actions too);
# CORS on the Rasa server: the widget's origins only (the socket checks them too).
listen_addresses() {
  RASA_HOST=$(.venv/bin/python -m security.listen rasa)
  SUPPORT_HOST=$(.venv/bin/python -m security.listen support)
  FAKE_TWILIO_HOST=$(.venv/bin/python -m security.listen fake_twilio)
  local origins=${WEBCHAT_ALLOWED_ORIGINS:-http://localhost:${SUPPORT_PORT},http://127.0.0.1:${SUPPORT_PORT}}
  IFS=',' read -r -a cors_origins <<<"${origins// /}"
}

# Started processes go into pids; `trap stop INT TERM EXIT` before starting any: Ctrl-C, a stop signal or
# the end of the script then stops them all.
pids=()
stop() {
  trap - INT TERM EXIT
  echo "stopping…"
  kill "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
}

# One of each, whatever the topology: fake Twilio (without TWILIO_ACCOUNT_SID), the support app, and the
# one campaign scheduler (proactive messages; a second one would only wait for its lease).
start_single_services() {
  if [ -z "${TWILIO_ACCOUNT_SID:-}" ]; then
    .venv/bin/python -m fake_twilio --host "$FAKE_TWILIO_HOST" --port "$FAKE_TWILIO_PORT" --destek-url "http://127.0.0.1:${RASA_PORT}" &
    pids+=($!)
  fi
  .venv/bin/python -m support_app --host "$SUPPORT_HOST" --port "$SUPPORT_PORT" &
  pids+=($!)
  .venv/bin/python -m campaigns.scheduler &
  pids+=($!)
}

# Run the command "$2" once a second until it succeeds, at most "$1" times; fails if it never did.
wait_until_up() {
  local tries=$1 check=$2
  for _ in $(seq 1 "$tries"); do
    "$check" && return 0
    sleep 1
  done
  return 1
}
