"""`python -m support_app [--host H] [--port P]`: serve the support app with uvicorn."""

import argparse
import os

import uvicorn

from support_app.app import create_app


def main() -> None:
    parser = argparse.ArgumentParser(description="Destek support app (demo shop, web chat tokens)")
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=int(os.environ.get("SUPPORT_PORT") or 8000))
    args = parser.parse_args()
    uvicorn.run(create_app(), host=args.host, port=args.port, log_level="info", access_log=False)


if __name__ == "__main__":
    main()
