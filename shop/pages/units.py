"""Quantities as a person reads them: on the admin pages and in the dashboard's charts."""
from __future__ import annotations


def size(n: int | float | None) -> str:
    """A byte count as a person reads it."""
    if n is None:
        return "-"
    n = int(n)
    value = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{n} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} bytes"


def short_size(n: float) -> str:
    """A byte count in as few characters as a chart's axis has room for: ``800 MiB``."""
    value = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            number = f"{value:.1f}".removesuffix(".0")
            return "0" if not value else f"{number} {unit}"
        value /= 1024
    return f"{n}"
