"""The fake Twilio's play-a-customer controls cannot be driven by another web site open in the
developer's browser: a cross-site form or text/plain POST (no preflight) and a DNS-rebound Host
are refused, and nothing reaches Destek. The real fake as a process; Destek is a local receiver
that keeps every webhook it gets."""

import http.client
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.servers import free_port, start_fake_twilio


class Destek:
    def __init__(self) -> None:
        self.webhooks: list[bytes] = []
        destek = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                destek.webhooks.append(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[tuple[int, Destek]]:
    destek = Destek()
    port = free_port()
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        "TWILIO_AUTH_TOKEN": "fake-twilio-test-token-0123456789",
    }
    process = start_fake_twilio(tmp_path, port, env, f"http://127.0.0.1:{destek.server.server_address[1]}", 0.01)
    try:
        yield port, destek
    finally:
        process.terminate()
        process.wait(timeout=30)
        destek.server.shutdown()
        destek.server.server_close()


def call(port: int, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw and response.getheader("Content-Type", "").startswith("application/json") else raw
    finally:
        connection.close()


AS_JOHN = json.dumps({"from": "+905551110002", "body": "iptal et siparişimi"}).encode()


def test_a_cross_site_post_without_a_preflight_is_refused(fake: tuple[int, Destek]) -> None:
    port, destek = fake
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        status, body = call(port, "POST", "/_fake/inbound", AS_JOHN, {"Content-Type": content_type, "Origin": "https://evil.example"})
        assert (status, body) == (415, {"error": "Content-Type must be application/json"}), content_type
    assert (
        call(port, "POST", "/_fake/outcomes", b'{"address": "+905551110002", "outcome": "failed"}', {"Content-Type": "text/plain"})[0]
        == 415
    )
    assert destek.webhooks == []
    assert call(port, "GET", "/_fake/messages")[1] == {"messages": []}


def test_a_dns_rebound_host_neither_reads_nor_writes(fake: tuple[int, Destek]) -> None:
    port, destek = fake
    rebound = {"Host": f"rebind.evil.example:{port}", "Content-Type": "application/json"}
    assert call(port, "POST", "/_fake/inbound", AS_JOHN, rebound)[0] == 403
    assert call(port, "GET", "/_fake/messages", headers=rebound)[0] == 403
    assert call(port, "GET", "/", headers=rebound)[0] == 403
    assert destek.webhooks == []


def test_the_page_itself_still_plays_a_customer(fake: tuple[int, Destek]) -> None:
    """The control: the same request as the page sends it (JSON, from 127.0.0.1 or localhost) is signed and posted."""
    port, destek = fake
    for host in (f"127.0.0.1:{port}", f"localhost:{port}"):
        status, body = call(port, "POST", "/_fake/inbound", AS_JOHN, {"Host": host, "Content-Type": "application/json"})
        assert status == 200 and body["destek_status"] == 200, body
    assert len(destek.webhooks) == 2 and b"From=whatsapp%3A%2B905551110002" in destek.webhooks[0]
    assert call(port, "GET", "/", headers={"Host": f"localhost:{port}"})[0] == 200
