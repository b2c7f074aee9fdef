"""`make run-cluster`'s script end to end: it starts every process on the engines, answers through
nginx over REST and over socket.io's WebSocket transport, and stops them all on SIGTERM."""

import asyncio
import os
import secrets
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import socketio

from connectors.webchat_token import issue_token
from tests.conftest import ROOT
from tests.helpers.cluster import PG_ADMIN, run_id, services_problem
from tests.helpers.databases import environment_url, support_database
from tests.helpers.servers import free_port, http
from tests.helpers.services import skip_or_fail

# The cluster profile is the production one: its support database on PostgreSQL too, so it runs in the
# PostgreSQL run (make test-postgres), where DESTEK_TEST_DATABASE=postgres puts it there.
pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    problem = services_problem()
    if problem:
        skip_or_fail(problem)
    state = tmp_path_factory.mktemp("run-cluster")
    name = run_id()
    rasa_port, action_port = free_port(), free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "RASA_PORT": str(rasa_port),
        "ACTION_PORT": str(action_port),
        "SUPPORT_PORT": str(free_port()),
        "FAKE_TWILIO_PORT": str(free_port()),
        "DESTEK_CLUSTER_DIR": str(state / "cluster"),
        "DESTEK_SECRETS_FILE": str(state / "secrets.env"),
        **environment_url(support_database(state)),
        "RASA_TRACKER_PG_DB": f"destek_{name}",
        "RABBITMQ_QUEUE": f"destek_events_{name}",
        "DESTEK_REDIS_PREFIX": name,
        "RASA_LOCK_REDIS_PREFIX": name,
        "RASA_AUTH_TOKEN": secrets.token_urlsafe(32),
        "TWILIO_ACCOUNT_SID": "",
        "DESTEK_KB_INDEX": str(ROOT / "var" / "kb-index"),
    }
    env["WEBCHAT_ALLOWED_ORIGINS"] = f"http://127.0.0.1:{env['SUPPORT_PORT']}"
    log = open(state / "run-cluster.log", "wb")
    process = subprocess.Popen(["scripts/run-cluster.sh"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 400
        while b"running as a cluster" not in (state / "run-cluster.log").read_bytes():
            assert process.poll() is None, (state / "run-cluster.log").read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "run-cluster did not come up"
            time.sleep(1)
        yield {**env, "state": str(state)}
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "destek_{name}" WITH (FORCE)')
        subprocess.run(
            [
                str(ROOT / ".venv-rasa" / "bin" / "python"),
                "-c",
                "import asyncio, aio_pika, sys\n"
                "async def main():\n"
                "    connection = await aio_pika.connect('amqp://guest:guest@127.0.0.1:5672/')\n"
                "    async with connection:\n"
                "        await (await connection.channel()).queue_delete(sys.argv[1])\n"
                "asyncio.run(main())\n",
                f"destek_events_{name}",
            ],
            capture_output=True,
            timeout=30,
        )


def test_rest_turns_through_nginx_reach_both_replicas(running: dict[str, str]) -> None:
    front = f"http://127.0.0.1:{running['RASA_PORT']}"
    for number in range(4):
        status, replies = http(
            "POST", f"{front}/webhooks/rest/webhook", {"sender": f"run-cluster-{number}", "message": "hello"}, timeout=60
        )
        assert status == 200 and replies and replies[0]["text"], (status, replies)
    ports = [int(running["RASA_PORT"]) + 10, int(running["RASA_PORT"]) + 11]
    for port in ports:  # both replicas answer on their own ports, as the banner says
        assert http("GET", f"http://127.0.0.1:{port}/status?token={running['RASA_AUTH_TOKEN']}")[0] == 200


def test_web_chat_over_websocket_through_nginx(running: dict[str, str]) -> None:
    async def chat() -> list[Any]:
        client = socketio.AsyncClient(reconnection=False)
        received: list[Any] = []
        done = asyncio.Event()

        @client.on("bot_uttered")
        async def uttered(data: Any) -> None:
            received.append(data)

        @client.on("bot_typing")
        async def typing(data: Any) -> None:
            if data == {"typing": False}:
                done.set()

        await client.connect(
            f"http://127.0.0.1:{running['RASA_PORT']}",
            transports=["websocket"],
            auth={"token": issue_token("run-cluster-web", running["WEBCHAT_JWT_SECRET"], 600)},
            headers={"Origin": running["WEBCHAT_ALLOWED_ORIGINS"]},
            wait_timeout=10,
        )
        try:
            assert client.transport() == "websocket"
            await client.emit("user_uttered", {"message": "merhaba"})
            await asyncio.wait_for(done.wait(), 60)
        finally:
            await client.disconnect()
        return received

    received = asyncio.run(chat())
    assert received and all(isinstance(message, dict) and message.get("text") for message in received), received


def test_the_stored_turns_are_on_postgresql(running: dict[str, str]) -> None:
    with psycopg.connect(f"host=127.0.0.1 port=5432 user=postgres dbname={running['RASA_TRACKER_PG_DB']}") as connection:
        senders = {row[0] for row in connection.execute("SELECT DISTINCT sender_id FROM events WHERE type_name = 'user'")}
    assert {"rest:run-cluster-0", "web:run-cluster-web"} <= senders, senders
    assert Path(running["state"], "cluster", "nginx", "nginx.conf").exists()
