"""`python -m support_app [--host H] [--port P]`: serve the support app with uvicorn."""

import argparse
import os
import sys

import uvicorn

from checkout import catalogue
from security.listen import host_for
from security.secrets_policy import optional
from support_app.app import create_app
from support_app.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description="Destek support app (demo shop, web chat tokens)")
    parser.add_argument("--host", default=None, help="default: 127.0.0.1, or 0.0.0.0 when DESTEK_EXPOSE names `support`")
    parser.add_argument("--port", type=int, default=int(os.environ.get("SUPPORT_PORT") or 8000))
    args = parser.parse_args()
    try:
        settings = Settings.from_env()
        for name in ("OPS_API_TOKEN", "METRICS_TOKEN"):  # set but short or published: refused (docs/security.md)
            optional(name)
        catalogue.current()  # a bad catalogue file stops the start with one line naming the field
        host = args.host or host_for("support")
    except ValueError as error:
        sys.exit(f"support app: {error}")
    uvicorn.run(create_app(settings), host=host, port=args.port, log_level="info", access_log=False)


if __name__ == "__main__":
    main()
