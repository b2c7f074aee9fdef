"""python -m campaigns create|list|show|pause|resume|cancel|preview|test-send|import-csv …

Bad input: one line on stderr naming the problem, exit code 2, nothing stored."""

import argparse
import asyncio
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from campaigns.audience import AudienceError, parse_csv
from campaigns.service import create_campaign, preview, test_send
from campaigns.store import CHANNELS, KINDS, PURPOSES, CampaignStore
from customer_store.store import CustomerStore
from settings.model import get_settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m campaigns", description="Proactive message campaigns")
    parser.add_argument(
        "--db", default=None, help="support database: a SQLite path or a URL (default: DESTEK_DATABASE_URL, else DESTEK_DB)"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="create a campaign (segment filters, or --csv)")
    create.add_argument("--name", required=True)
    create.add_argument("--kind", choices=KINDS, default="announcement")
    create.add_argument("--purpose", choices=PURPOSES, default="marketing")
    create.add_argument("--channel", choices=CHANNELS, default="whatsapp")
    create.add_argument("--message-tr", default="")
    create.add_argument("--message-en", default="")
    create.add_argument("--send-at", default="now", help="'now' or a date-time like '2026-12-01 09:30' (in --timezone)")
    create.add_argument("--recurrence", default="", help="'daily 09:00' or 'weekly mon 09:00'")
    create.add_argument("--timezone", default="Europe/Istanbul")
    create.add_argument("--rate", type=float, default=None, help="messages per second")
    create.add_argument("--quiet-hours", choices=("on", "off"), default=None, help="service notices only (marketing: always on)")
    create.add_argument("--template-sid", default="")
    create.add_argument("--csv", type=Path, help="recipients file (phone/customer_id, name, language, timezone)")
    for name in ("region", "plan", "language", "consent", "active-within-days"):
        create.add_argument(f"--{name}", default=None, help="segment filter")
    commands.add_parser("list", help="campaigns with their stats")
    for name, text in (
        ("show", "one campaign and its stats"),
        ("pause", "stop sending for now"),
        ("resume", "go on sending"),
        ("cancel", "stop for good"),
    ):
        commands.add_parser(name, help=text).add_argument("campaign_id", type=int)
    show_preview = commands.add_parser("preview", help="the rendered message per language")
    show_preview.add_argument("campaign_id", type=int)
    show_preview.add_argument("--name", default="Ayşe Yılmaz")
    send = commands.add_parser("test-send", help="send the message once to a staff phone")
    send.add_argument("campaign_id", type=int)
    send.add_argument("--to", required=True, help="E.164 phone, e.g. +905551234567")
    send.add_argument("--language", choices=("tr", "en"), default=None)
    check = commands.add_parser("import-csv", help="check a recipients CSV line by line (stores nothing)")
    check.add_argument("csv", type=Path)
    check.add_argument("--channel", choices=CHANNELS, default="whatsapp")
    return parser


def _when(seconds: float | None) -> str:
    return datetime.fromtimestamp(seconds).astimezone().strftime("%Y-%m-%d %H:%M %Z") if seconds else "-"


def _campaign_id(store: CampaignStore, campaign_id: int) -> dict[str, Any]:
    campaign = store.campaign(campaign_id)
    if campaign is None:
        raise LookupError(f"campaign {campaign_id} does not exist")
    return campaign


def run(args: argparse.Namespace) -> list[str]:
    db = args.db or get_settings().storage.url()
    store = CampaignStore(db)
    if args.command == "create":
        fields = {key: value for key, value in vars(args).items() if key not in ("db", "command", "csv")}
        fields["quiet_hours"] = None if args.quiet_hours is None else args.quiet_hours == "on"
        data = _read(args.csv) if args.csv else None
        campaign_id = create_campaign(db, fields, data, args.csv.name if args.csv else "", created_by="cli")
        stats = store.stats(campaign_id)
        return [
            f"campaign {campaign_id} created: {stats['targeted']} recipients ({stats['skipped']} skipped, "
            f"{stats['quiet_hours_deferred']} deferred by quiet hours)"
        ]
    if args.command == "list":
        lines = []
        for campaign in store.campaigns():
            stats = store.stats(campaign["id"])
            lines.append(
                f"{campaign['id']:>4}  {campaign['status']:<9} {campaign['purpose']:<9} {campaign['channel']:<8} "
                f"{campaign['name']}  targeted {stats['targeted']}, sent {stats['sent']}, delivered {stats['delivered']}, "
                f"read {stats['read']}, failed {stats['failed']}"
            )
        return lines or ["no campaigns"]
    if args.command == "show":
        campaign = _campaign_id(store, args.campaign_id)
        shown = {
            key: campaign[key]
            for key in ("id", "name", "kind", "purpose", "channel", "status", "recurrence", "timezone", "quiet_hours", "rate", "audience")
        }
        shown["audience"] = {k: v for k, v in campaign["audience"].items() if k != "recipients"}
        shown["send_at"] = _when(campaign["send_at"])
        shown["stats"] = store.stats(campaign["id"])
        return [json.dumps(shown, ensure_ascii=False, indent=2)]
    if args.command in ("pause", "resume", "cancel"):
        status = getattr(store, args.command)(args.campaign_id)
        return [f"campaign {args.campaign_id} is now {status}"]
    if args.command == "preview":
        campaign = _campaign_id(store, args.campaign_id)
        return [f"[{item['language']}] {item['text']}" for item in preview(campaign, args.name)]
    if args.command == "test-send":
        campaign = _campaign_id(store, args.campaign_id)
        result = asyncio.run(test_send(db, campaign, args.to, args.language))
        return [f"test message {result['sid']} sent to {args.to} as {result['kind']}"]
    if args.command == "import-csv":
        recipients = parse_csv(_read(args.csv), CustomerStore(db), args.channel)
        return [f"{args.csv}: {len(recipients)} recipients, every line valid"]
    raise AssertionError(args.command)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise ValueError(f"{path}: {error.strerror}") from None


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        for line in run(args):
            print(line)
    except AudienceError as error:
        print(f"error: {error.errors[0]}" + (f" (and {len(error.errors) - 1} more)" if len(error.errors) > 1 else ""), file=sys.stderr)
        return 2
    except (ValueError, LookupError, RuntimeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
