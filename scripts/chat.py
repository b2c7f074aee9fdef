"""Chat with the running bot in the terminal over Rasa's REST channel (`make shell`).

Type in Turkish or English. Buttons are shown numbered; type the number to press one.
"""

import json
import sys
import urllib.error
import urllib.request
import uuid
from typing import Any

from settings.model import get_settings


def send(url: str, sender: str, message: str) -> list[dict[str, Any]]:
    body = json.dumps({"sender": sender, "message": message}).encode()
    headers = {"Content-Type": "application/json"}
    token = get_settings().web.rest_token
    if token:  # the REST channel requires it when it is set (connectors/rest.py)
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=body, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def main() -> int:
    url = f"http://localhost:{get_settings().processes.rasa_port}/webhooks/rest/webhook"
    sender = f"shell-{uuid.uuid4().hex[:8]}"
    print(f"Talking to {url} as {sender}. Ctrl-D to quit.")
    buttons: list[dict[str, Any]] = []
    while True:
        try:
            text = input("you> ").strip()
        except (EOFError, KeyboardInterrupt):
            print()
            return 0
        if not text:
            continue
        if text.isdigit() and 1 <= int(text) <= len(buttons):
            text = buttons[int(text) - 1]["payload"]
        try:
            replies = send(url, sender, text)
        except (urllib.error.URLError, OSError) as exc:
            print(f"error: cannot reach the bot at {url} ({exc}); is `make run` running?", file=sys.stderr)
            continue
        buttons = []
        for reply in replies:
            if reply.get("text"):
                print(f"bot> {reply['text']}")
            for button in reply.get("buttons", []):
                buttons.append(button)
                print(f"     [{len(buttons)}] {button['title']}")


if __name__ == "__main__":
    sys.exit(main())
