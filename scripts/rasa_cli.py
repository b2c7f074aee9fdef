"""Run a Rasa command (`run`, `interactive`, `shell`) as Destek needs it, under .venv-rasa's Python:
`python -m scripts.rasa_cli run --model bot/models --enable-api …` takes rasa's own arguments.

- The HTTP API token comes from RASA_AUTH_TOKEN in the environment and is handed to Rasa inside
  the process: `rasa run --auth-token=…` showed it to every local user in `ps` (a process's
  command line is world-readable, its environment is not). `--auth-token` on the command line is
  refused for the same reason.
- Every Sanic server the command starts listens where security.listen says: `rasa run` and
  `rasa shell` get `--interface` (127.0.0.1 unless DESTEK_EXPOSE names `rasa`) when none is given;
  `rasa interactive`, whose server (with its HTTP API open, no token) and story-graph page Rasa 3.6
  binds to a hard-coded 0.0.0.0, gets 127.0.0.1 unless DESTEK_EXPOSE names `interactive`.
"""

import os
import sys
from collections.abc import Callable
from typing import Any

from settings.rasa_side import host_for

TOKEN_VARIABLE = "RASA_AUTH_TOKEN"
HAS_INTERFACE = ("run", "shell")


class UsageError(Exception):
    """A command line this launcher refuses; the message is the one line to print."""


def rasa_arguments(argv: list[str], env: dict[str, str]) -> list[str]:
    """Rasa's argv (without the program name) for `argv`, with --interface and the token added."""
    if not argv or argv[0].startswith("-"):
        raise UsageError("usage: python -m scripts.rasa_cli {run|interactive|shell} [rasa's arguments]")
    command, rest = argv[0], list(argv[1:])
    if any(arg == "--auth-token" or arg.startswith("--auth-token=") for arg in rest):
        raise UsageError(f"--auth-token: pass the token in {TOKEN_VARIABLE} (a command line is visible to every local user in ps)")
    if command in HAS_INTERFACE and not any(arg == "--interface" or arg.startswith("--interface=") for arg in rest):
        rest += ["--interface", host_for("rasa", env)]
    if command == "run" and "--enable-api" in rest:
        token = env.get(TOKEN_VARIABLE, "")
        if not token:
            raise UsageError(f"{TOKEN_VARIABLE} is not set: the HTTP API (--enable-api) needs it (docs/security.md)")
        rest.append(f"--auth-token={token}")
    return [command, *rest]


def pin_sanic_host(host: str) -> None:
    """Make every Sanic app of this process (and of processes it forks) listen on `host`."""
    from sanic import Sanic

    original: Callable[..., Any] = Sanic.run

    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        if args:  # Sanic.run(host, port, …): the first positional is the host
            args = (host, *args[1:])
        else:
            kwargs["host"] = host
        return original(self, *args, **kwargs)

    Sanic.run = run  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        arguments = rasa_arguments(args, dict(os.environ))
        if arguments[0] == "interactive":
            pin_sanic_host(host_for("interactive", dict(os.environ)))
    except (UsageError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *arguments]
    rasa_main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
