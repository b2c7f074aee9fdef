"""The Rasa server's reader (standard library, pydantic 1 over there) agrees with the model: same variables,
types, defaults, empty-means-unset and bounds; and the Rasa process really loads it without pydantic-settings."""

import os
import subprocess
import typing
from dataclasses import MISSING, fields
from pathlib import Path

import pytest

from settings.model import groups, load
from settings.rasa_side import VARIABLES, RasaSettings, SettingsError, read
from tests.conftest import ROOT

RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"


def model_fields() -> dict[str, typing.Any]:
    return {str(f.validation_alias): f for group in groups().values() for f in group.model_fields.values()}


def test_every_field_names_a_declared_variable_with_the_same_type_and_default() -> None:
    declared = model_fields()
    hints = typing.get_type_hints(RasaSettings)
    assert set(VARIABLES) == {f.name for f in fields(RasaSettings)}
    for field in fields(RasaSettings):
        name = VARIABLES[field.name]
        assert name in declared, name
        assert hints[field.name] == declared[name].annotation, name
        default = None if field.default is MISSING else field.default
        assert default == declared[name].default, name


@pytest.mark.parametrize("value", ["", " ", "0", "-1", "1.5", "lots", "7", "70000"])
def test_numbers_are_refused_or_taken_as_the_model_does(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for field in fields(RasaSettings):
        name = VARIABLES[field.name]
        if field.type not in (int, float, "int", "float"):
            continue
        monkeypatch.setenv(name, value)
        try:
            expected: typing.Any = getattr(_group_of(name), _field_of(name))
        except SettingsError as error:
            with pytest.raises(SettingsError, match=f"^{name}: "):
                read({name: value})
            assert str(error).startswith(f"{name}: ")
        else:
            assert getattr(read({name: value}), field.name) == expected, name
        monkeypatch.delenv(name)


def _group_of(name: str) -> typing.Any:
    settings = load()
    for area, group in groups().items():
        if any(f.validation_alias == name for f in group.model_fields.values()):
            return getattr(settings, area)
    raise KeyError(name)


def _field_of(name: str) -> str:
    return next(key for group in groups().values() for key, f in group.model_fields.items() if f.validation_alias == name)


def test_the_reader_takes_the_environment_as_the_model_does(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"DESTEK_DB": "/tmp/x.sqlite3", "DESTEK_DEMO_SECRETS": "yes", "HANDOFF_SETTINGS": "acme.yml", "TWILIO_TIMEOUT": " 2.5 "}
    settings = read(env)
    assert (settings.support_database, settings.demo_secrets, settings.handoff_settings, settings.timeout) == (
        Path("/tmp/x.sqlite3"), True, Path("acme.yml"), 2.5,
    )  # fmt: skip
    with pytest.raises(SettingsError) as raised:
        read({"DESTEK_DEMO_SECRETS": "maybe", "DESTEK_REDIS_PREFIX": "a b"})
    assert str(raised.value) == (
        "DESTEK_REDIS_PREFIX: may hold only letters, digits, - _ and ., not 'a b'; "
        "DESTEK_DEMO_SECRETS: must be 1 or 0 (true/false, yes/no, on/off), not 'maybe'"
    )
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    model = load()
    assert (model.storage.support_database, model.secrets.demo_secrets, model.proactive.handoff_settings, model.whatsapp.timeout) == (
        Path("/tmp/x.sqlite3"), True, Path("acme.yml"), 2.5,
    )  # fmt: skip


@pytest.mark.skipif(not RASA_PYTHON.exists(), reason="no .venv-rasa")
def test_the_rasa_process_reads_its_settings_without_pydantic_settings_and_stops_on_a_bad_one() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "REST_MESSAGES_PER_MINUTE": "lots"}
    script = (
        "import sys, importlib.util\n"
        "from connectors.rest import RestChannel\n"
        "assert importlib.util.find_spec('pydantic_settings') is None and 'settings.model' not in sys.modules\n"
        "RestChannel.from_credentials({})\n"
    )
    result = subprocess.run([str(RASA_PYTHON), "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines()[-1] == "REST channel: REST_MESSAGES_PER_MINUTE: must be a number, not 'lots'"
