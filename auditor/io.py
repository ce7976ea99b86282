"""Atomic output and the default cache folder.

An output is written to a temporary file beside its target (named with the writer's process id),
given the permissions a plain `open()` would give, then renamed over the target. Temporary files
of writers that were killed are removed by the next write to the same target.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
from pathlib import Path

from auditor.errors import InputError

TEMP = re.compile(r"^\.(?P<name>.+)\.ftaudit-(?P<pid>\d+)-[A-Za-z0-9_]+\.tmp$")


def default_cache_dir() -> str:
    """FTAUDIT_CACHE_DIR, else the user cache folder (~/.cache/ftaudit on Linux)."""
    from_env = os.environ.get("FTAUDIT_CACHE_DIR")
    if from_env:
        return from_env
    import platformdirs

    return platformdirs.user_cache_dir("ftaudit", appauthor=False)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def sweep_temp_files(folder: Path, name: str) -> None:
    """Remove temporary files left beside `name` by writers that no longer run."""
    try:
        entries = list(folder.iterdir())
    except OSError:
        return
    for entry in entries:
        match = TEMP.match(entry.name)
        if match and match["name"] == name and int(match["pid"]) != os.getpid() and not _alive(int(match["pid"])):
            entry.unlink(missing_ok=True)


def _mode_for(path: Path) -> int:
    """The target's own permissions when it exists, else what the umask allows for a new file."""
    try:
        info = path.stat()
        if stat.S_ISREG(info.st_mode):
            return stat.S_IMODE(info.st_mode)
    except OSError:
        pass
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_atomic(path: str | Path, text: str) -> None:
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        sweep_temp_files(folder, path.name)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.ftaudit-{os.getpid()}-", suffix=".tmp")
    except OSError as exc:
        raise InputError(f"{path}: cannot write ({exc.strerror or exc})") from None
    try:
        os.fchmod(fd, _mode_for(path))
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise InputError(f"{path}: cannot write ({exc.strerror or exc})") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
