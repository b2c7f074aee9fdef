"""storage.files.lock_path: where the KB writer and the NLU writer put the lock for one data file."""

import tempfile
from pathlib import Path

import pytest

from storage.files import lock_path


def test_one_lock_per_file_and_kind_outside_the_data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "bot" / "data"
    data.mkdir(parents=True)
    (data / "nlu.yml").write_text("version: '3.1'\n", encoding="utf-8")
    lock = lock_path(data / "nlu.yml", "nlu")
    assert Path(lock).parent == Path(tempfile.gettempdir()) and Path(lock).name.startswith("destek-nlu-")
    assert Path(lock).suffix == ".lock" and not Path(lock).is_relative_to(data)
    # The same file however it is named: one lock; another file or another kind of writer: another lock.
    monkeypatch.chdir(data)
    assert lock_path(Path("nlu.yml"), "nlu") == lock_path(Path("../data/./nlu.yml"), "nlu") == lock
    assert lock_path(data / "other.yml", "nlu") != lock
    assert lock_path(data / "nlu.yml", "kb") != lock
