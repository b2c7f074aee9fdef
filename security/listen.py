"""Where each Destek process listens: 127.0.0.1 unless DESTEK_EXPOSE names it.

DESTEK_EXPOSE is a comma-separated list of services to bind on every interface (0.0.0.0):
`rasa` (the widget's socket, the WhatsApp webhooks, REST and the token-protected HTTP API),
`support` (the demo shop and the staff pages), `actions`, `fake_twilio`, `interactive` (`make
interactive`'s Rasa server, whose HTTP API has no token, and its story-graph page). Empty: all on
loopback. The rule is `settings.model.Processes.host_for`; `python -m security.listen SERVICE` prints
the address for scripts/run.sh (and so checks every setting before anything starts).
"""

import sys

from settings.model import SettingsError, get_settings
from settings.rasa_side import SERVICES


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] not in SERVICES:
        print(f"usage: python -m security.listen {{{'|'.join(SERVICES)}}}", file=sys.stderr)
        return 2
    try:
        print(get_settings().processes.host_for(args[0]))
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
