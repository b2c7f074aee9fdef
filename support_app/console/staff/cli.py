"""`python -m support_app.console.staff.cli add LOGIN --role ROLE [--name NAME]` (password asked, or STAFF_PASSWORD),
`remove LOGIN`, `list`: manage staff accounts without the demo defaults."""

import argparse
import getpass
import sys

from settings.model import load
from support_app.console.staff.accounts import ROLES, StaffAccounts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m support_app.console.staff.cli", description="Manage Destek staff accounts")
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="create an account or replace its role, name and password")
    add.add_argument("login")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--name", help="display name (default: the login)")
    remove = commands.add_parser("remove", help="delete an account and end its sessions")
    remove.add_argument("login")
    commands.add_parser("list", help="list the accounts")
    args = parser.parse_args(argv)
    settings = load()  # this command's start: read the settings now
    accounts = StaffAccounts(settings.storage.database())
    try:
        if args.command == "add":
            password = settings.staff.staff_password or getpass.getpass(f"password for {args.login}: ")
            accounts.set_account(args.login, args.name or args.login, args.role, password)
        elif args.command == "remove":
            accounts.remove_account(args.login)
        else:
            for user in accounts.users():
                print(f"{user.login}\t{user.role}\t{user.display_name}")
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
