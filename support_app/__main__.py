"""`python -m support_app [--host H] [--port P]`: serve the support app with uvicorn."""

import argparse
import sys

import uvicorn

from checkout import catalogue
from security.secrets_policy import optional
from settings.model import get_settings
from support_app.app import create_app
from support_app.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description="Destek support app (demo shop, web chat tokens)")
    parser.add_argument("--host", default=None, help="default: 127.0.0.1, or 0.0.0.0 when DESTEK_EXPOSE names `support`")
    parser.add_argument("--port", type=int, default=None, help="default: SUPPORT_PORT, else 8000")
    args = parser.parse_args()
    try:
        declared = get_settings()  # every setting, read and checked once, at start
        settings = Settings.of(declared)
        for name, value in (("OPS_API_TOKEN", declared.proactive.ops_api_token), ("METRICS_TOKEN", declared.tools.metrics_token)):
            optional(name, value, declared.secrets.demo_secrets)  # set but short or published: refused (docs/security.md)
        catalogue.current()  # a bad catalogue file stops the start with one line naming the field
    except ValueError as error:
        sys.exit(f"support app: {error}")
    host = args.host or declared.processes.host_for("support")
    port = args.port or declared.processes.support_port
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info", access_log=False)


if __name__ == "__main__":
    main()
