"""What the command line refuses before any work starts, and how it stops when interrupted.

Outputs: an output that is an input, another output, or not a regular file (a device, FIFO,
socket or folder) is refused; a symbolic link is followed, so the file it names is replaced and
the link kept; `-` is standard output. Inputs must be regular files (a link to /dev/zero would be
read without end). SIGINT and SIGTERM end the run with one 'interrupted' line, exit 130 or 143,
and this process's temporary files removed.
"""

from __future__ import annotations

import os
import signal
import stat
import threading
from collections.abc import Iterable
from pathlib import Path
from types import FrameType
from typing import Any

from auditor.errors import InputError

STDOUT = "-"


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived: unwinds past every `except Exception`, cleaning up on its way."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def _raise_interrupted(signum: int, frame: FrameType | None) -> None:
    for name in ("SIGINT", "SIGTERM"):  # a second signal during clean-up must not cut it short
        signal.signal(getattr(signal, name), signal.SIG_IGN)
    raise Interrupted(signum)


def install_signal_handlers() -> dict[int, Any]:
    """Handlers raising Interrupted; returns the previous ones (a library caller gets them back)."""
    previous: dict[int, Any] = {}
    if threading.current_thread() is not threading.main_thread():
        return previous
    for name in ("SIGINT", "SIGTERM"):
        signum = getattr(signal, name)
        previous[signum] = signal.getsignal(signum)
        if previous[signum] is not signal.SIG_IGN:  # started in the background with SIGINT ignored: keep it so
            signal.signal(signum, _raise_interrupted)
    return previous


def restore_signal_handlers(previous: dict[int, Any]) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler if handler is not None else signal.SIG_DFL)


def clean_up() -> None:
    from auditor.embed_cache import release_scratch

    release_scratch()


def _identity(path: Path) -> tuple[str, tuple[int, int] | None]:
    real = os.path.realpath(path)
    try:
        info = os.stat(real)
        return real, (info.st_dev, info.st_ino)
    except OSError:
        return real, None


def check_input(path: str | Path) -> None:
    """A regular file, or InputError (a missing file is left for the loader to name)."""
    try:
        info = os.stat(path)
    except OSError:
        return
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"{path}: is a directory, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{path}: not a regular file (a device, FIFO or socket); give a file")


def check_outputs(inputs: Iterable[str | Path | None], outputs: dict[str, str | None]) -> dict[str, str | None]:
    """Each output's real path (symbolic links followed), `-` for stdout, None when not asked for.

    Raises InputError naming the option when an output would overwrite an input or another output, or
    is not a regular file."""
    sources = {}
    for source in inputs:
        if source is not None and str(source) != STDOUT:
            real, inode = _identity(Path(source))
            sources[real] = str(source)
            if inode:
                sources[f"{inode}"] = str(source)
    resolved: dict[str, str | None] = {}
    taken: dict[str, str] = {}
    for option, value in outputs.items():
        if value is None or value == STDOUT:
            resolved[option] = value
            continue
        real, inode = _identity(Path(value))
        for key in (real, f"{inode}" if inode else None):
            if key and key in sources:
                raise InputError(f"{value}: {option} would overwrite the input {sources[key]}; choose another path")
            if key and key in taken:
                raise InputError(f"{value}: {option} is the same file as {taken[key]}; choose another path")
        if inode is not None and not stat.S_ISREG(os.stat(real).st_mode):
            kind = "a directory" if os.path.isdir(real) else "not a regular file (a device, FIFO or socket)"
            raise InputError(f"{value}: {option} is {kind}; give a file path, or '-' for standard output")
        taken[real] = f"{option} {value}"
        if inode:
            taken[f"{inode}"] = f"{option} {value}"
        resolved[option] = real
    return resolved
