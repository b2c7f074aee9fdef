"""`python -m incidents open|update-eta|resolve|list …` — incidents from the command line.

Bad input prints one line (`error: …`) and exits with 2; nothing is changed.
"""

import argparse
import getpass
import json
import sys
from datetime import datetime
from typing import NoReturn

from campaigns.single import CampaignsScheduler
from incidents.service import resolve_incident
from incidents.store import SERVICES, Incident, IncidentError, IncidentStore
from incidents.times import operations_timezone, parse_time
from settings.model import get_settings


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m incidents", description="Record, update and resolve service incidents (outages).")
    parser.add_argument(
        "--db", default=None, help="support database: a SQLite path or a URL (default: DESTEK_DATABASE_URL, else DESTEK_DB)"
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    opened = commands.add_parser("open", help="record a new incident")
    opened.add_argument("--service", required=True, help=f"one of {', '.join(SERVICES)}")
    opened.add_argument("--regions", required=True, help="affected regions, comma-separated (as in customer profiles)")
    opened.add_argument("--eta", required=True, help="expected end: ISO 8601 (e.g. 2026-11-23T18:30) or +90m / +2h / +1d")
    opened.add_argument("--start", help="when it started (default: now)")
    opened.add_argument("--message-tr", required=True, help="what Turkish-speaking customers are told")
    opened.add_argument("--message-en", required=True, help="what English-speaking customers are told")
    opened.add_argument("--by", default=getpass.getuser(), help="who opened it")
    eta = commands.add_parser("update-eta", help="change the expected end of an open incident")
    eta.add_argument("incident_id", type=int)
    eta.add_argument("--eta", required=True)
    resolve = commands.add_parser("resolve", help="mark resolved and schedule the 'service restored' follow-ups")
    resolve.add_argument("incident_id", type=int)
    listed = commands.add_parser("list", help="list incidents with their contact counts")
    listed.add_argument("--status", choices=("open", "resolved"))
    listed.add_argument("--json", action="store_true")
    return parser


def _line(incident: Incident) -> str:
    return (
        f"#{incident.id} {incident.status} {incident.service} regions={','.join(incident.regions)} "
        f"eta={datetime.fromtimestamp(incident.eta, operations_timezone()).isoformat(timespec='minutes')} contacts={incident.contact_count}"
    )


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    database = args.db or get_settings().storage.database()
    try:
        store = IncidentStore(database)
        if args.command == "open":
            start = parse_time(args.start, "start") if args.start else None
            incident = store.open(
                args.service,
                args.regions.split(","),
                parse_time(args.eta, "eta"),
                args.message_tr,
                args.message_en,
                started_at=start,
                opened_by=args.by,
            )
            print(_line(incident))
        elif args.command == "update-eta":
            print(_line(store.update_eta(args.incident_id, parse_time(args.eta, "eta"))))
        elif args.command == "resolve":
            store.get(args.incident_id)  # an unknown id fails before the scheduler is opened
            incident, scheduled = resolve_incident(database, args.incident_id, CampaignsScheduler(database))
            print(f"{_line(incident)} follow-ups={len(scheduled)}")
        else:
            incidents = store.list(args.status)
            if args.json:
                print(json.dumps([incident.as_json() for incident in incidents], ensure_ascii=False))
            else:
                for incident in incidents:
                    print(_line(incident))
    except IncidentError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
