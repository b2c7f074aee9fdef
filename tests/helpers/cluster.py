"""The cluster of `make run-cluster`, started for tests and bench/cluster.py: Rasa replicas and
action servers behind real nginx, fake Twilio, on PostgreSQL, Redis and RabbitMQ.

Each run gets its own PostgreSQL database (created, then dropped), its own Redis key prefixes and
its own RabbitMQ queue (deleted after), so parallel runs never meet.
"""

import json
import os
import secrets
import signal
import subprocess
from pathlib import Path
from typing import Any

import psycopg
import redis

from cluster.loadbalancer import nginx_binary
from tests.helpers.servers import AUTH_TOKEN, MODEL, RASA_RUN, ROOT, Servers, free_port, start_fake_twilio, wait_until

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


def run_id() -> str:
    return "t" + secrets.token_hex(6)


class Cluster:
    """`replicas` Rasa servers and `action_servers` action servers behind one nginx."""

    def __init__(self, state: Path, replicas: int = 2, action_servers: int = 2, env: dict[str, str] | None = None) -> None:
        self.state = state
        self.base = Servers(state)  # the settings of the single-process test servers, plus the cluster's
        self.front_port = self.base.rasa_port
        self.action_front = self.base.action_port
        self.replica_ports = [free_port() for _ in range(replicas)]
        self.action_ports = [free_port() for _ in range(action_servers)]
        self.id = run_id()
        self.database = f"destek_{self.id}"
        self.queue = f"destek_events_{self.id}"
        self.env = {
            **self.base.env,
            "DESTEK_PROFILE": "cluster",
            "RASA_TRACKER_PG_HOST": "127.0.0.1",
            "RASA_TRACKER_PG_PORT": "5432",
            "RASA_TRACKER_PG_DB": self.database,
            "RASA_TRACKER_PG_USER": "postgres",
            "RASA_TRACKER_PG_PASSWORD": "",
            "RASA_TRACKER_PG_LOGIN_DB": "postgres",
            "RASA_LOCK_REDIS_HOST": "127.0.0.1",
            "RASA_LOCK_REDIS_PORT": "6379",
            "RASA_LOCK_REDIS_DB": "1",
            "RASA_LOCK_REDIS_PREFIX": self.id,
            "DESTEK_REDIS_URL": "redis://127.0.0.1:6379/0",
            "DESTEK_REDIS_PREFIX": self.id,
            "RABBITMQ_HOST": "127.0.0.1",
            "RABBITMQ_PORT": "5672",
            "RABBITMQ_USER": "guest",
            "RABBITMQ_PASSWORD": "guest",
            "RABBITMQ_QUEUE": self.queue,
            "TICKET_LOCK_LIFETIME": "10",
            **(env or {}),
        }
        self.rasa: dict[int, subprocess.Popen[bytes]] = {}
        self.processes: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        """The load balancer in front of the Rasa replicas (PUBLIC_URL: Twilio signs for it)."""
        return f"http://127.0.0.1:{self.front_port}"

    def replica_url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.replica_ports[index]}"

    def _spawn(self, name: str, command: list[str]) -> subprocess.Popen[bytes]:
        log = open(self.state / f"{name}.log", "ab")
        process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def start(self) -> None:
        with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{self.database}"')
        self.base.fake = start_fake_twilio(self.state, self.base.fake_port, self.env, self.url, 0.05)
        self.processes.append(self.base.fake)
        nginx_dir = self.state / "nginx"
        subprocess.run(
            [
                str(ROOT / ".venv" / "bin" / "python"),
                "-m",
                "cluster.loadbalancer",
                "--dir",
                str(nginx_dir),
                "--rasa",
                f"{self.front_port}=" + ",".join(map(str, self.replica_ports)),
                "--actions",
                f"{self.action_front}=" + ",".join(map(str, self.action_ports)),
            ],
            cwd=ROOT,
            env=self.env,
            check=True,
            capture_output=True,
        )
        self._spawn("nginx", [nginx_binary(), "-p", str(nginx_dir), "-c", "nginx.conf"])
        actions = [
            self._spawn(f"actions{index}", [str(ROOT / ".venv" / "bin" / "python"), "-m", "bot.action_server", "--port", str(port)])
            for index, port in enumerate(self.action_ports)
        ]
        for index in range(len(self.replica_ports)):
            self.start_replica(index, wait=False)
        for process, port in zip(actions, self.action_ports, strict=True):
            wait_until(f"http://127.0.0.1:{port}/health", 120, process)
        for index in range(len(self.replica_ports)):
            self.wait_replica(index)

    def start_replica(self, index: int, wait: bool = True) -> None:
        self.rasa[index] = self._spawn(
            f"rasa{index}",
            [
                *RASA_RUN,
                "--model",
                str(MODEL),
                "--endpoints",
                "endpoints.cluster.yml",
                "--credentials",
                "credentials.yml",
                "--port",
                str(self.replica_ports[index]),
                "--interface",
                "127.0.0.1",
                "--enable-api",
            ],
        )
        if wait:
            self.wait_replica(index)

    def wait_replica(self, index: int) -> None:
        wait_until(f"{self.replica_url(index)}/status?token={AUTH_TOKEN}", 300, self.rasa[index])

    def kill_replica(self, index: int) -> None:
        """kill -9: no shutdown handler runs, nothing is flushed."""
        self.rasa[index].send_signal(signal.SIGKILL)
        self.rasa[index].wait(timeout=10)

    def user_messages(self) -> dict[str, list[str]]:
        """Every conversation's user messages (their MessageSids, in the tracker store's order)."""
        with psycopg.connect(f"host=127.0.0.1 port=5432 user=postgres dbname={self.database}") as connection:
            rows = connection.execute(
                "SELECT sender_id, data::json->>'message_id' FROM events WHERE type_name = 'user' ORDER BY id"
            ).fetchall()
        conversations: dict[str, list[str]] = {}
        for sender, sid in rows:
            conversations.setdefault(sender, []).append(sid)
        return conversations

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        self._drop_queue()
        self._drop_redis_keys()

    def broker_events(self, limit: int = 2000) -> list[dict[str, Any]]:
        """Up to `limit` of the events Rasa published to this run's RabbitMQ queue, left in it
        (read with .venv-rasa's aio-pika: the application environment has no AMQP client)."""
        script = (
            "import asyncio, json, sys, aio_pika\n"
            "async def main():\n"
            "    connection = await aio_pika.connect('amqp://guest:guest@127.0.0.1:5672/')\n"
            "    async with connection:\n"
            "        channel = await connection.channel()\n"
            "        queue = await channel.declare_queue(sys.argv[1], passive=True)\n"
            "        events, taken = [], []\n"
            "        while len(events) < int(sys.argv[2]):\n"
            "            message = await queue.get(no_ack=False, fail=False)\n"
            "            if message is None:\n"
            "                break\n"
            "            events.append(json.loads(message.body))\n"
            "            taken.append(message)\n"
            "        for message in taken:\n"
            "            await message.nack(requeue=True)\n"
            "        print(json.dumps(events))\n"
            "asyncio.run(main())\n"
        )
        result = subprocess.run(
            [str(ROOT / ".venv-rasa" / "bin" / "python"), "-c", script, self.queue, str(limit)],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return list(json.loads(result.stdout))

    def _drop_queue(self) -> None:
        script = (
            "import asyncio, aio_pika, sys\n"
            "async def main():\n"
            "    connection = await aio_pika.connect('amqp://guest:guest@127.0.0.1:5672/')\n"
            "    async with connection:\n"
            "        channel = await connection.channel()\n"
            "        await channel.queue_delete(sys.argv[1])\n"
            "asyncio.run(main())\n"
        )
        subprocess.run([str(ROOT / ".venv-rasa" / "bin" / "python"), "-c", script, self.queue], capture_output=True, timeout=30)

    def _drop_redis_keys(self) -> None:
        for db in (0, 1):
            client = redis.Redis(host="127.0.0.1", port=6379, db=db)
            keys = list(client.scan_iter(match=f"{self.id}*", count=1000))
            if keys:
                client.delete(*keys)

    def __enter__(self) -> "Cluster":
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *_: Any) -> None:
        self.stop()


def services_problem() -> str | None:
    """None when PostgreSQL, Redis, RabbitMQ and nginx are here; else one line on how to get them."""
    from cluster.services import missing

    problem = missing()
    if problem is None and not os.path.exists(nginx_binary()):
        problem = "nginx is not installed; install it with: make nginx"
    return problem
