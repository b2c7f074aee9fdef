"""python -m fake_twilio --port 5099 --destek-url http://127.0.0.1:5005"""

import argparse
import logging
import os
import sys

from aiohttp import web

from fake_twilio.app import FakeTwilio, create_app
from security.listen import host_for
from security.secrets_policy import SecretError, require


def main() -> None:
    parser = argparse.ArgumentParser(description="Local fake of Twilio's Messages API and WhatsApp webhooks")
    parser.add_argument("--host", default=None, help="default: 127.0.0.1, or 0.0.0.0 when DESTEK_EXPOSE names `fake_twilio`")
    parser.add_argument("--port", type=int, default=5099)
    parser.add_argument("--destek-url", default="http://127.0.0.1:5005", help="where inbound webhooks are posted")
    parser.add_argument(
        "--public-url",
        default=os.environ.get("PUBLIC_URL") or None,
        help="the URL Destek believes it is reached at, which signatures cover (default: --destek-url)",
    )
    parser.add_argument("--auth-token", default=None, help="default: TWILIO_AUTH_TOKEN")
    parser.add_argument("--whatsapp-from", default=os.environ.get("TWILIO_WHATSAPP_FROM") or "whatsapp:+14155238886")
    parser.add_argument("--status-delay", type=float, default=0.2, help="seconds between status callbacks")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="fake_twilio %(levelname)s %(message)s")
    try:
        auth_token = args.auth_token or require("TWILIO_AUTH_TOKEN")
        host = args.host or host_for("fake_twilio")
    except (SecretError, ValueError) as error:
        sys.exit(f"fake_twilio: {error}")
    fake = FakeTwilio(
        auth_token=auth_token,
        destek_url=args.destek_url.rstrip("/"),
        public_url=(args.public_url or args.destek_url).rstrip("/"),
        whatsapp_number=args.whatsapp_from,
        status_delay=args.status_delay,
    )
    web.run_app(create_app(fake), host=host, port=args.port, print=None)


if __name__ == "__main__":
    main()
