"""The settings layer: every variable declared once and documented, read when a process starts (never at
import), a bad value refused with one line naming the variable, and the Rasa side's reader equal to the model."""

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from settings.__main__ import replaced
from settings.model import Settings, SettingsError, get_settings, groups, load
from tests.conftest import ROOT

# Variables the docs name that are not Destek settings: the Makefile's own, and what it sets for the tools.
NOT_SETTINGS = {
    "KB_SOURCE", "KB_INDEX", "KB_QUERIES", "NLU_FOLDS", "NLU_REPORT", "NLU_BENCH_ARGS", "INTERACTIVE_PORT",
    "PYTHONPATH", "RASA_TELEMETRY_ENABLED", "TF_CPP_MIN_LOG_LEVEL", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE",
}  # fmt: skip


def declared() -> dict[str, object]:
    """Variable → its field, over every area."""
    return {str(f.validation_alias): f for group in groups().values() for f in group.model_fields.values()}


def test_every_setting_is_documented_and_the_tables_are_generated_from_the_declarations() -> None:
    text = (ROOT / "docs/configuration.md").read_text(encoding="utf-8")
    assert replaced(text) == text, "run `python -m settings docs --write docs/configuration.md`"
    for name, field in declared().items():
        assert f"| `{name}` |" in text
        assert getattr(field, "description", ""), f"{name} has no description"


def test_every_variable_the_docs_and_env_example_name_is_declared() -> None:
    names = set(declared())
    documented = set(re.findall(r"`\$?([A-Z][A-Z0-9]*_[A-Z0-9_]+)", (ROOT / "docs/configuration.md").read_text(encoding="utf-8")))
    example = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(encoding="utf-8"), re.MULTILINE))
    assert documented - names - NOT_SETTINGS == set()
    assert example - names == set()


def test_each_variable_is_declared_once() -> None:
    aliases = [str(f.validation_alias) for group in groups().values() for f in group.model_fields.values()]
    assert len(aliases) == len(set(aliases))


def test_product_code_reads_the_environment_only_through_settings() -> None:
    """os.environ.get / os.getenv / os.environ[...] outside settings/: only the secrets generator's command line,
    which runs before any process (both environments). Passing the environment on to a child ({**os.environ}) is not a read."""
    allowed = {"settings/rasa_side.py", "security/secrets_policy.py"}
    readers = []
    for path in sorted(ROOT.glob("*/**/*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative.split("/")[0] in {"tests", "bench", ".venv", ".venv-rasa", "var"} or relative.startswith("."):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            text = ast.unparse(node) if isinstance(node, ast.Call | ast.Subscript) else ""
            if re.match(r"^os\.(environ\.get|getenv)\(|^os\.environ\[", text) and relative not in allowed:
                readers.append(f"{relative}: {text}")
    assert readers == []


def test_a_bad_value_is_one_line_naming_each_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBCHAT_TOKEN_TTL", "5")
    monkeypatch.setenv("TWILIO_TIMEOUT", "soon")
    monkeypatch.setenv("CAMPAIGNS_QUIET_HOURS", "evenings")
    monkeypatch.setenv("WEBCHAT_JWT_SECRET", "x" * 70)  # a text's value is never repeated: it may be a secret
    with pytest.raises(SettingsError) as raised:
        load()
    assert str(raised.value) == (
        "WEBCHAT_TOKEN_TTL: Input should be greater than or equal to 60, not '5'; "
        "TWILIO_TIMEOUT: must be a number, not 'soon'; "
        "CAMPAIGNS_QUIET_HOURS: 'evenings' is not HH:MM-HH:MM"
    )
    assert "\n" not in str(raised.value)


def test_an_empty_value_counts_as_unset_except_for_the_staff_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESTEK_DB", "")
    monkeypatch.setenv("RASA_PORT", "")
    monkeypatch.setenv("STAFF_DEMO_PASSWORD", "")
    settings = load()
    assert (settings.storage.support_database, settings.processes.rasa_port) == (Path("var/destek.sqlite3"), 5005)
    assert settings.staff.staff_demo_password == ""
    monkeypatch.delenv("STAFF_DEMO_PASSWORD")
    assert load().staff.staff_demo_password == "demo-staff"


def test_settings_are_read_once_per_process_until_the_cache_is_emptied(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPORT_PORT", "8123")
    first = get_settings()
    monkeypatch.setenv("SUPPORT_PORT", "8124")
    assert get_settings() is first and first.processes.support_port == 8123
    get_settings.cache_clear()
    assert get_settings().processes.support_port == 8124
    with pytest.raises(Exception, match="frozen"):
        first.processes.support_port = 1  # type: ignore[misc]


def test_nothing_is_read_at_import_and_a_process_stops_at_start_with_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SUPPORT_PORT": "eighty"}
    imported = subprocess.run(
        [sys.executable, "-c", "import settings.model, support_app.app, bot.actions.services, campaigns.scheduler"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    started = subprocess.run(
        [sys.executable, "-m", "security.listen", "rasa"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert (started.returncode, started.stdout, started.stderr) == (2, "", "error: SUPPORT_PORT: must be a whole number, not 'eighty'\n")


def test_the_settings_are_grouped_by_area_in_the_order_of_the_docs() -> None:
    assert list(Settings.model_fields) == list(groups())
    assert [group.__name__ for group in groups().values()][:3] == ["Processes", "Storage", "Secrets"]
