"""No published secret signs anything.

Each secret below protects something (docs/security.md). A value is refused when it is
empty, shorter than MIN_LENGTH, or equal to a published default: a value that is, or once
was, in `.env.example` or in the code. `DESTEK_DEMO_SECRETS=1` is the explicit demo flag that
lets published values through (a throwaway demo that must use fixed values).

`python -m security.secrets_policy --file var/secrets.env` (run by scripts/run.sh) keeps one
random value per install for every secret the environment leaves unset, in a file of mode
0600, and prints `export NAME=value` lines for the shell; a refused value stops it with one
line naming the variable. The processes pass the values from their settings (settings/); only this command
reads the environment itself. Standard library only: it runs in both Python environments.
"""

import argparse
import os
import re
import secrets
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO_FLAG = "DESTEK_DEMO_SECRETS"
MIN_LENGTH = 16

# What each secret protects; the order is the order of the generated file.
SECRETS: dict[str, str] = {
    "RASA_AUTH_TOKEN": "the Rasa HTTP API (trackers, trigger_intent, model)",
    "ACTION_SERVER_TOKEN": "every call to the action server",
    "WEBCHAT_JWT_SECRET": "web chat tokens (which web:<customer> conversation a socket writes into)",
    "SUPPORT_SESSION_SECRET": "shop and staff session cookies",
    "TWILIO_AUTH_TOKEN": "WhatsApp webhook signatures (X-Twilio-Signature)",
}
# Secrets a feature needs only when it is switched on: never generated, but a value that is set is
# held to the same rules (a short or published OPS_API_TOKEN would let anyone announce outages).
OPTIONAL_SECRETS: dict[str, str] = {
    "REST_CHANNEL_TOKEN": "the REST channel",
    "OPS_API_TOKEN": "the incidents API (outage notices to customers)",
    "METRICS_TOKEN": "/metrics from other hosts",
    "HELPDESK_WEBHOOK_SECRET": "the signature of the helpdesk webhook",
}
# Values published in earlier versions of .env.example and the code: refused forever.
PUBLISHED_DEFAULTS: frozenset[str] = frozenset(
    {
        "demo-webchat-secret-change-me-0123456789",
        "demo-session-secret-change-me",
        "demo-auth-token-not-secret",
        "demo-staff",
        "demo",
    }
)


class SecretError(ValueError):
    """A secret is missing or published; the message is one line naming the variable."""


def demo_mode(env: Mapping[str, str]) -> bool:
    return env.get(DEMO_FLAG, "").strip().lower() in ("1", "true", "yes", "on")


def published_values(example: Path = ROOT / ".env.example") -> frozenset[str]:
    """PUBLISHED_DEFAULTS and every non-empty value in .env.example (if the file is there)."""
    values = set(PUBLISHED_DEFAULTS)
    if example.is_file():
        for line in example.read_text(encoding="utf-8").splitlines():
            match = re.match(r"^\s*([A-Z0-9_]+)\s*=\s*(.*?)\s*$", line)
            if match and match.group(2):
                values.add(match.group(2).strip("'\""))
    return frozenset(values)


def problem(name: str, value: str | None, demo: bool = False) -> str | None:
    """Why this value of the secret `name` is refused, or None when it is usable (`demo`: DESTEK_DEMO_SECRETS)."""
    if not value:
        return f"{name} is not set: set it, or start with `make run`, which keeps a random one in var/secrets.env"
    if demo:
        return None
    if value in published_values():
        return f"{name} is a published default (from .env.example or the code): set a random value, or {DEMO_FLAG}=1 for a throwaway demo"
    if len(value) < MIN_LENGTH:
        return f"{name} is shorter than {MIN_LENGTH} characters: set a longer random value"
    return None


def require(name: str, value: str, demo: bool = False) -> str:
    """`value` (the setting of secret `name`, from settings), or SecretError saying in one line what to set."""
    reason = problem(name, value.strip(), demo)
    if reason:
        raise SecretError(reason)
    return value.strip()


def optional(name: str, value: str, demo: bool = False) -> str | None:
    """The value of optional secret `name`, None when unset, SecretError when set but refused."""
    if not value.strip():
        return None
    return require(name, value.strip(), demo)


def ensure(path: Path, env: Mapping[str, str], generate: list[str] | None = None) -> dict[str, str]:
    """The values for the secrets in `generate` that `env` leaves unset, created once per install
    in `path` (mode 0600); every secret the environment does set is checked."""
    wanted = list(SECRETS) if generate is None else generate
    for name in SECRETS:
        if env.get(name, "").strip():
            require(name, env[name], demo_mode(env))
    for name in OPTIONAL_SECRETS:
        optional(name, env.get(name, ""), demo_mode(env))
    stored = _read(path)
    missing = [name for name in wanted if not env.get(name, "").strip()]
    changed = False
    for name in missing:
        if problem(name, stored.get(name)) is not None:
            stored[name] = secrets.token_urlsafe(32)
            changed = True
    if changed:
        _write(path, stored)
    elif path.exists():
        path.chmod(0o600)
    return {name: stored[name] for name in missing}


def _read(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        name, sep, value = line.partition("=")
        if sep and name.strip() in SECRETS:
            values[name.strip()] = value.strip()
    return values


def _write(path: Path, values: dict[str, str]) -> None:
    """Written to a new file created with mode 0600, then renamed over the old one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    if temporary.exists():
        temporary.unlink()
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write("# Generated by `make run`: one random value per install. Keep this file private (mode 0600).\n")
        for name in SECRETS:
            if name in values:
                handle.write(f"{name}={values[name]}\n")
    os.replace(temporary, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="check Destek's secrets and generate the unset ones (prints export lines)")
    parser.add_argument("--file", type=Path, default=Path("var/secrets.env"))
    parser.add_argument(
        "--skip", action="append", default=[], help="a secret not to generate (e.g. TWILIO_AUTH_TOKEN with a real Twilio account)"
    )
    args = parser.parse_args(argv)
    try:
        values = ensure(args.file, os.environ, generate=[name for name in SECRETS if name not in args.skip])
    except SecretError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for name, value in values.items():
        print(f"export {name}={shlex.quote(value)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
