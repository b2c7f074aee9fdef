"""Writing a data file (KB article, NLU file) so that a reader never sees half of it, and where the lock
that serialises its writers lives."""

import hashlib
import os
import tempfile
from pathlib import Path


def atomic_write(path: Path, text: str) -> None:
    """Write `text` to a temporary file beside `path`, flush it to disk, then rename it over `path`
    (keeping the file's mode; 0644 for a new file). On any error the old file stays as it was."""
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def lock_path(path: Path, kind: str) -> str:
    """The lock file of the writers of `path` (a FileLock's path): in the temporary folder, so that no lock file
    shows up beside data kept in git; one per file or folder, named `destek-<kind>-<hash of the resolved path>.lock`."""
    key = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:16]
    return str(Path(tempfile.gettempdir()) / f"destek-{kind}-{key}.lock")
