"""A small disk for the tests of a full one: a tmpfs mounted over a directory, and a filler.

Mounting needs root; where it cannot be done the test is skipped with the reason.
"""
from __future__ import annotations

import contextlib
import os
import subprocess
from pathlib import Path

import pytest

FILL_CHUNK = 1024 * 1024


@contextlib.contextmanager
def tmpfs(directory: Path, size: str = "30m"):
    """``directory`` (created) as a tmpfs of ``size`` for the duration; skip if it cannot be."""
    directory.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("a small disk needs a tmpfs mount, and mounting needs root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(directory)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip() or mounted.returncode}")
    try:
        yield directory
    finally:
        subprocess.run(["umount", "-l", str(directory)], check=True)


def fill(directory: Path, leave: int = 0) -> Path:
    """A file that fills the disk of ``directory`` to all but about ``leave`` bytes."""
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        block = b"\xff" * FILL_CHUNK
        while True:
            try:
                os.write(fd, block)
            except OSError:  # full: the last, smaller writes fill what a chunk did not
                if len(block) == 1:
                    break
                block = block[: len(block) // 2]
        os.ftruncate(fd, max(0, os.fstat(fd).st_size - leave))
    finally:
        os.close(fd)
    return filler


def free_space(directory: Path) -> int:
    stats = os.statvfs(directory)
    return stats.f_bavail * stats.f_frsize
