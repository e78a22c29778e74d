"""A process's resident memory, sampled from /proc while a benchmark phase runs."""
from __future__ import annotations

import threading
from pathlib import Path

KiB = 1024
MiB = 1024**2


def status_kib(pid: int, field: str) -> int:
    """A ``kB`` field of /proc/<pid>/status (VmRSS, VmHWM...), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(f"{field} not in /proc/{pid}/status")


def rss(pid: int) -> int:
    """Resident set size in bytes."""
    return status_kib(pid, "VmRSS") * KiB


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (a server's workers: nginx, gunicorn)."""
    pids, i = [pid], 0
    while i < len(pids):
        for task in Path(f"/proc/{pids[i]}/task").glob("*"):
            try:
                pids += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                pass
        i += 1
    return pids


def tree_rss(pid: int) -> int:
    """Resident set size of ``pid`` and its descendants, in bytes (shared pages count twice)."""
    total = 0
    for p in process_tree(pid):
        try:
            total += rss(p)
        except (OSError, KeyError):
            pass
    return total


def reset_peak(pid: int) -> bool:
    """Reset the kernel's high-water mark (VmHWM) to the current RSS, if we are allowed to."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


class RssSampler:
    """Samples VmRSS every ``interval`` seconds in a thread; ``peak`` is the largest seen.

    Where /proc/<pid>/clear_refs is writable the kernel's own high-water mark (VmHWM) is reset
    at the start and read at the end too, so a spike shorter than the interval is not missed.
    A server with worker processes (nginx, gunicorn) is sampled as the sum over its process
    tree, without the high-water mark (the workers' peaks need not coincide).

        with RssSampler(pid) as sampler:
            ...  # the phase
        sampler.baseline, sampler.peak  # bytes
    """

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self.pid = pid
        self.interval = interval
        self.baseline = 0
        self.peak = 0
        self.samples = 0
        self._hwm = False
        self._tree = len(process_tree(pid)) > 1
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"rss-{pid}", daemon=True)

    def __enter__(self) -> "RssSampler":
        self._hwm = not self._tree and reset_peak(self.pid)
        self.baseline = self.peak = self._rss()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        if self._hwm:
            self.peak = max(self.peak, status_kib(self.pid, "VmHWM") * KiB)

    @property
    def growth(self) -> int:
        """Peak minus the RSS at the start of the phase, in bytes."""
        return self.peak - self.baseline

    def _rss(self) -> int:
        return tree_rss(self.pid) if self._tree else rss(self.pid)

    def _sample(self) -> None:
        try:
            self.peak = max(self.peak, self._rss())
            self.samples += 1
        except (OSError, KeyError):  # the process is gone
            self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()
