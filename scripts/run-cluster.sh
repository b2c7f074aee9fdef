#!/usr/bin/env bash
# `make run-cluster` (docs/cluster.md): on one machine, RASA_REPLICAS Rasa replicas and
# ACTION_REPLICAS action servers behind nginx, one support app, one campaign scheduler and (without
# TWILIO_ACCOUNT_SID) fake Twilio, all on PostgreSQL, Redis and RabbitMQ. Ctrl-C stops all.
set -euo pipefail
cd "$(dirname "$0")/.."
# Every file the services create (databases with customers' data, logs, the nginx state) is private to
# this user: with the default umask the SQLite files were readable by every local account.
umask 077

export DESTEK_PROFILE=cluster
RASA_PORT=${RASA_PORT:-5005}
ACTION_PORT=${ACTION_PORT:-5055}
RASA_REPLICAS=${RASA_REPLICAS:-2}
ACTION_REPLICAS=${ACTION_REPLICAS:-2}
export SUPPORT_PORT=${SUPPORT_PORT:-8000}
# shellcheck source=scripts/start-common.sh
source scripts/start-common.sh
STATE=${DESTEK_CLUSTER_DIR:-var/cluster}
# The engines (docs/cluster.md lists every setting); defaults: the services of this machine.
export RASA_TRACKER_PG_HOST=${RASA_TRACKER_PG_HOST:-127.0.0.1} RASA_TRACKER_PG_PORT=${RASA_TRACKER_PG_PORT:-5432}
export RASA_TRACKER_PG_DB=${RASA_TRACKER_PG_DB:-destek_tracker} RASA_TRACKER_PG_USER=${RASA_TRACKER_PG_USER:-postgres}
export RASA_TRACKER_PG_PASSWORD=${RASA_TRACKER_PG_PASSWORD:-} RASA_TRACKER_PG_LOGIN_DB=${RASA_TRACKER_PG_LOGIN_DB:-postgres}
export RASA_LOCK_REDIS_HOST=${RASA_LOCK_REDIS_HOST:-127.0.0.1} RASA_LOCK_REDIS_PORT=${RASA_LOCK_REDIS_PORT:-6379}
export RASA_LOCK_REDIS_DB=${RASA_LOCK_REDIS_DB:-1} RASA_LOCK_REDIS_PREFIX=${RASA_LOCK_REDIS_PREFIX:-destek}
export DESTEK_REDIS_URL=${DESTEK_REDIS_URL:-redis://127.0.0.1:6379/0}
export RABBITMQ_HOST=${RABBITMQ_HOST:-127.0.0.1} RABBITMQ_PORT=${RABBITMQ_PORT:-5672}
export RABBITMQ_USER=${RABBITMQ_USER:-guest} RABBITMQ_PASSWORD=${RABBITMQ_PASSWORD:-guest} RABBITMQ_QUEUE=${RABBITMQ_QUEUE:-destek_events}
# A dead replica's conversation lock blocks that conversation this long (Rasa's default: 60 s).
export TICKET_LOCK_LIFETIME=${TICKET_LOCK_LIFETIME:-30}
default_settings
mkdir -p var "$STATE"

.venv/bin/python -m cluster.services
# The support database (customers, handoffs, WhatsApp state, campaigns…) on the same PostgreSQL server,
# database `destek`, created and migrated here, unless DESTEK_DATABASE_URL names another (docs/cluster.md).
export DESTEK_DATABASE_URL=${DESTEK_DATABASE_URL:-postgresql+psycopg://${RASA_TRACKER_PG_USER}@${RASA_TRACKER_PG_HOST}:${RASA_TRACKER_PG_PORT}/destek}
.venv/bin/python -m storage.migrate upgrade --create

load_secrets
listen_addresses

rasa_ports=() action_ports=()
for i in $(seq 1 "$RASA_REPLICAS"); do rasa_ports+=($((RASA_PORT + 9 + i))); done
for i in $(seq 1 "$ACTION_REPLICAS"); do action_ports+=($((ACTION_PORT + 9 + i))); done
join() { local IFS=,; echo "$*"; }
nginx=$(.venv/bin/python -m cluster.loadbalancer --dir "$STATE/nginx" --listen "$RASA_HOST" \
  --rasa "$RASA_PORT=$(join "${rasa_ports[@]}")" --actions "$ACTION_PORT=$(join "${action_ports[@]}")")

trap stop INT TERM EXIT

for port in "${action_ports[@]}"; do
  .venv/bin/python -m bot.action_server --host 127.0.0.1 --port "$port" &
  pids+=($!)
done
for port in "${rasa_ports[@]}"; do
  .venv-rasa/bin/python -m scripts.rasa_cli run --model bot/models --endpoints endpoints.cluster.yml --credentials credentials.yml \
    --interface 127.0.0.1 --port "$port" --enable-api --cors "${cors_origins[@]}" &
  pids+=($!)
done
"$nginx" -p "$STATE/nginx" -c nginx.conf &
pids+=($!)
start_single_services

all_up() {
  local port
  for port in "${rasa_ports[@]}"; do curl -fsS -K - <<<"url = \"http://127.0.0.1:${port}/status?token=${RASA_AUTH_TOKEN}\"" >/dev/null 2>&1 || return 1; done
  for port in "${action_ports[@]}"; do curl -fsS "http://127.0.0.1:${port}/health" >/dev/null 2>&1 || return 1; done
  curl -fsS "http://127.0.0.1:${SUPPORT_PORT}/healthz" >/dev/null 2>&1
}
if wait_until_up 300 all_up; then
  cat <<MSG

Destek is running as a cluster (docs/cluster.md).
  Rasa:         http://localhost:${RASA_PORT} (nginx) → replicas on ${rasa_ports[*]}
  Actions:      http://127.0.0.1:${ACTION_PORT} (nginx) → ${action_ports[*]}
  Demo shop:    http://localhost:${SUPPORT_PORT}   Staff: http://localhost:${SUPPORT_PORT}/staff
  Engines:      PostgreSQL ${RASA_TRACKER_PG_HOST}:${RASA_TRACKER_PG_PORT}/${RASA_TRACKER_PG_DB}, Redis ${DESTEK_REDIS_URL}, RabbitMQ queue ${RABBITMQ_QUEUE}
  WhatsApp:     http://localhost:${FAKE_TWILIO_PORT}  (fake Twilio when TWILIO_ACCOUNT_SID is empty)
Press Ctrl-C to stop.
MSG
fi
wait -n "${pids[@]}"
