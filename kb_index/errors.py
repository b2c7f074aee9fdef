"""The one exception type that the CLI turns into a one-line error."""


class KbError(Exception):
    """Bad input or an unusable index; the message names the problem in one line."""
