"""Where each Destek process listens: 127.0.0.1 unless DESTEK_EXPOSE names it.

DESTEK_EXPOSE is a comma-separated list of services to bind on every interface (0.0.0.0):
`rasa` (the widget's socket, the WhatsApp webhooks, REST and the token-protected HTTP API),
`support` (the demo shop and the staff pages), `actions`, `fake_twilio`, `interactive` (`make
interactive`'s Rasa server, whose HTTP API has no token, and its story-graph page). Empty: all on
loopback.
`python -m security.listen SERVICE` prints the address for scripts/run.sh.
"""

import os
import sys
from collections.abc import Mapping

SERVICES = ("rasa", "support", "actions", "fake_twilio", "interactive")
LOOPBACK = "127.0.0.1"
EVERYWHERE = "0.0.0.0"


def exposed(env: Mapping[str, str] = os.environ) -> list[str]:
    """The services DESTEK_EXPOSE names; ValueError naming an unknown one."""
    names = [name.strip() for name in env.get("DESTEK_EXPOSE", "").split(",") if name.strip()]
    unknown = [name for name in names if name not in SERVICES]
    if unknown:
        raise ValueError(f"DESTEK_EXPOSE: unknown service {unknown[0]!r} (known: {', '.join(SERVICES)})")
    return names


def host_for(service: str, env: Mapping[str, str] = os.environ) -> str:
    return EVERYWHERE if service in exposed(env) else LOOPBACK


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] not in SERVICES:
        print(f"usage: python -m security.listen {{{'|'.join(SERVICES)}}}", file=sys.stderr)
        return 2
    try:
        print(host_for(args[0]))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
