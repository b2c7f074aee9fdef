"""Staff accounts (roles, sessions), their pages, and `python -m support_app.console.staff.cli`."""
