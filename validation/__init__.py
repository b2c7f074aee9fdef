"""Field checks shared by the stores and the web apps: one-line errors naming the field."""
