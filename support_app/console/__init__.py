"""The staff console inside the support app: inbox, review, dashboard, campaign and incident pages, staff accounts."""
