"""python -m fake_twilio --port 5099 --destek-url http://127.0.0.1:5005"""

import argparse
import logging
import sys

from aiohttp import web

from fake_twilio.app import FakeTwilio, create_app
from security.secrets_policy import SecretError, require
from settings.model import SettingsError, get_settings


def main() -> None:
    parser = argparse.ArgumentParser(description="Local fake of Twilio's Messages API and WhatsApp webhooks")
    parser.add_argument("--host", default=None, help="default: 127.0.0.1, or 0.0.0.0 when DESTEK_EXPOSE names `fake_twilio`")
    parser.add_argument("--port", type=int, default=5099)
    parser.add_argument("--destek-url", default="http://127.0.0.1:5005", help="where inbound webhooks are posted")
    parser.add_argument(
        "--public-url",
        default=None,
        help="the URL Destek believes it is reached at, which signatures cover (default: PUBLIC_URL, else --destek-url)",
    )
    parser.add_argument("--whatsapp-from", default=None, help="default: TWILIO_WHATSAPP_FROM")
    parser.add_argument("--status-delay", type=float, default=0.2, help="seconds between status callbacks")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="fake_twilio %(levelname)s %(message)s")
    try:
        settings = get_settings()
        # The token is read from the environment only: a command line is visible to every local user in ps.
        auth_token = require("TWILIO_AUTH_TOKEN", settings.secrets.twilio_auth_token, settings.secrets.demo_secrets)
    except (SecretError, SettingsError) as error:
        sys.exit(f"fake_twilio: {error}")
    host = args.host or settings.processes.host_for("fake_twilio")
    fake = FakeTwilio(
        auth_token=auth_token,
        destek_url=args.destek_url.rstrip("/"),
        public_url=(args.public_url or settings.whatsapp.public_url or args.destek_url).rstrip("/"),
        whatsapp_number=args.whatsapp_from or settings.whatsapp.whatsapp_from,
        status_delay=args.status_delay,
    )
    web.run_app(create_app(fake), host=host, port=args.port, print=None)


if __name__ == "__main__":
    main()
