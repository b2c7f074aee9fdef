"""Reply template variables: checked when an admin saves a template, filled when an agent inserts one."""

import pytest

from support_app.console.inbox.template_text import TemplateError, check_template, fill, unfilled, variables_in


def test_known_variables_are_found_in_order_once() -> None:
    assert variables_in("Hi {first_name}, order {order_id} is on its way. {first_name}, {agent_name}") == [
        "first_name",
        "order_id",
        "agent_name",
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "Merhaba {firstname}",
            "unknown variable {firstname} at character 9 (known: {first_name}, {full_name}, {order_id}, {agent_name}, {email})",
        ),
        ("Hi {first_name", "unmatched '{' at character 4: write variables as {first_name}"),
        ("Hi first_name}", "unmatched '}' at character 14: write variables as {first_name}"),
        ("Hi {}", "unknown variable {} at character 4"),
    ],
)
def test_unknown_or_malformed_variables_are_refused_with_their_position(body: str, message: str) -> None:
    with pytest.raises(TemplateError) as error:
        variables_in(body)
    assert str(error.value).startswith(message)


@pytest.mark.parametrize(
    ("name", "language", "body", "message"),
    [
        ("", "tr", "Merhaba", "field 'name': a template needs a name"),
        ("Selam", "de", "Hallo", "field 'language': 'de' is not a supported language (tr, en)"),
        ("Selam", "tr", "   ", "field 'text': a template needs text"),
        ("Selam", "tr", "Merhaba {ad}", "field 'text': unknown variable {ad} at character 9"),
        ("x" * 81, "tr", "Merhaba", "field 'name': at most 80 characters, not 81"),
    ],
)
def test_a_template_to_save_is_checked_field_by_field(name: str, language: str, body: str, message: str) -> None:
    with pytest.raises(TemplateError) as error:
        check_template(name, language, body)
    assert str(error.value).startswith(message)


def test_a_valid_template_is_trimmed() -> None:
    assert check_template("  Kargo  ", "tr", " Merhaba {first_name} \n") == ("Kargo", "tr", "Merhaba {first_name}")


def test_fill_puts_in_known_values_and_lists_the_missing_ones() -> None:
    text, missing = fill(
        "Merhaba {first_name}, {order_id} numaralı siparişiniz. {agent_name} / {first_name}",
        {"first_name": "Ayşe", "agent_name": "Deniz", "order_id": "  "},
    )
    assert text == "Merhaba Ayşe, {order_id} numaralı siparişiniz. Deniz / Ayşe"
    assert missing == ["order_id"]
    assert unfilled(text) == ["order_id"]


def test_a_value_is_inserted_as_is_even_if_it_looks_like_markup() -> None:
    text, missing = fill("Hi {first_name}", {"first_name": "<img src=x onerror=alert(1)>"})
    assert (text, missing) == ("Hi <img src=x onerror=alert(1)>", [])


def test_unfilled_ignores_braces_that_are_not_template_variables() -> None:
    assert unfilled('JSON {"a": 1} and {first_name} and {foo}') == ["first_name"]
