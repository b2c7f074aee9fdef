"""Reply template text: which {variables} a template may use, and filling them for one handoff.

A template such as "Merhaba {first_name}, {order_id} numaralı siparişiniz…" is checked when an
admin saves it (an unknown or malformed variable is refused with a message naming it) and filled
when an agent inserts it: known values are put in, missing ones stay as `{name}` for the agent
to fill, and a reply that still holds a `{name}` placeholder is refused before it is sent.
"""

import re
from collections.abc import Mapping

VARIABLES: dict[str, str] = {
    "first_name": "the customer's first name",
    "full_name": "the customer's full name",
    "order_id": "the customer's latest order number",
    "agent_name": "the agent's name",
    "email": "the customer's e-mail address",
}
LANGUAGES = ("tr", "en")
MAX_NAME = 80
MAX_BODY = 2000
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


class TemplateError(ValueError):
    """A template or reply that cannot be used; the message names the problem."""


def variables_in(body: str) -> list[str]:
    """The variable names used in `body`, in order of first use.

    Raises TemplateError for a brace that is not part of a `{name}` pair or an unknown name.
    """
    names: list[str] = []
    for match in _PLACEHOLDER.finditer(body):
        name = match.group(1).strip()
        if name not in VARIABLES:
            known = ", ".join("{" + known + "}" for known in VARIABLES)
            raise TemplateError(f"unknown variable {{{match.group(1)}}} at character {match.start() + 1} (known: {known})")
        if name not in names:
            names.append(name)
    stray = _PLACEHOLDER.sub("", body)
    for brace in "{}":
        if brace in stray:
            position = _position_of_stray(body, brace)
            raise TemplateError(f"unmatched '{brace}' at character {position}: write variables as {{first_name}}")
    return names


def _position_of_stray(body: str, brace: str) -> int:
    covered: set[int] = set()
    for match in _PLACEHOLDER.finditer(body):
        covered.update(range(match.start(), match.end()))
    return next(index + 1 for index, char in enumerate(body) if char == brace and index not in covered)


def check_template(name: str, language: str, body: str) -> tuple[str, str, str]:
    """The cleaned (name, language, text) of a template an admin wants to save, or TemplateError."""
    name, body = name.strip(), body.strip()
    if not name:
        raise TemplateError("field 'name': a template needs a name")
    if len(name) > MAX_NAME:
        raise TemplateError(f"field 'name': at most {MAX_NAME} characters, not {len(name)}")
    if language not in LANGUAGES:
        raise TemplateError(f"field 'language': {language!r} is not a supported language (tr, en)")
    if not body:
        raise TemplateError("field 'text': a template needs text")
    if len(body) > MAX_BODY:
        raise TemplateError(f"field 'text': at most {MAX_BODY} characters, not {len(body)}")
    try:
        variables_in(body)
    except TemplateError as error:
        raise TemplateError(f"field 'text': {error}") from None
    return name, language, body


def fill(body: str, values: Mapping[str, str]) -> tuple[str, list[str]]:
    """The template with every known value put in, and the variables still to be filled by hand."""
    missing: list[str] = []

    def put(match: "re.Match[str]") -> str:
        name = match.group(1).strip()
        value = (values.get(name) or "").strip()
        if value:
            return value
        if name not in missing:
            missing.append(name)
        return "{" + name + "}"

    variables_in(body)
    return _PLACEHOLDER.sub(put, body), missing


def unfilled(text: str) -> list[str]:
    """Template variables still in a reply the agent wants to send."""
    found: list[str] = []
    for match in _PLACEHOLDER.finditer(text):
        name = match.group(1).strip()
        if name in VARIABLES and name not in found:
            found.append(name)
    return found
