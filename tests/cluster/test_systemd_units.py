"""The systemd unit set of docs/cluster.md (deploy/systemd): rendered for this checkout, checked by
`systemd-analyze verify` where it exists, and their commands, modules and files exist."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT

UNITS = ROOT / "deploy" / "systemd"
INSTANCES = {"destek-rasa@.service": "destek-rasa@5015.service", "destek-actions@.service": "destek-actions@5065.service"}


def rendered(folder: Path) -> list[Path]:
    """Every unit with /opt/destek replaced by this checkout, as systemd would load it."""
    paths = []
    for unit in sorted(UNITS.glob("*.service")):
        (folder / unit.name).write_text(unit.read_text().replace("/opt/destek", str(ROOT)))
        paths.append(folder / INSTANCES.get(unit.name, unit.name))
    return paths


def test_the_unit_set_covers_every_process_of_the_cluster() -> None:
    names = {unit.name for unit in UNITS.glob("*.service")}
    assert names == {
        "destek-rasa@.service",
        "destek-actions@.service",
        "destek-support.service",
        "destek-scheduler.service",
        "destek-lb.service",
    }


def test_every_command_module_and_file_a_unit_names_exists() -> None:
    for unit in UNITS.glob("*.service"):
        text = unit.read_text().replace("/opt/destek", str(ROOT))
        for line in re.findall(r"^Exec\w+=(.+)$", text, flags=re.M):
            command = line.split()
            assert Path(command[0]).exists() or command[0] == "/usr/sbin/nginx", line
            if "-m" in command:
                module = command[command.index("-m") + 1].replace(".", "/")
                assert (ROOT / f"{module}.py").exists() or (ROOT / module / "__main__.py").exists(), line
            for option in ("--endpoints", "--credentials"):
                if option in command:
                    assert (ROOT / command[command.index(option) + 1]).exists(), line


@pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed (the test above still checks the commands)"
)
def test_systemd_analyze_verifies_the_units(tmp_path: Path) -> None:
    units = [path for path in rendered(tmp_path) if path.name != "destek-lb.service" or Path("/usr/sbin/nginx").exists()]
    result = subprocess.run(
        ["systemd-analyze", "verify", *[f"./{path.name}" for path in units]], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
