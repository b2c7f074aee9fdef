"""The support app (port 8000, `python -m support_app`): one web process serving two apps.

- shop/: the demo shop (Pusula) with the chat widget, customer login, cart and checkout help,
  and the web chat token endpoint (pages.py: its router);
- console/: the staff console (inbox, review, dashboard, campaign and incident pages, staff accounts).

app.py assembles both, with what they share: settings.py (from the environment), security.py (CSRF), the
session cookie, the security headers, templates/ and static/.
"""
