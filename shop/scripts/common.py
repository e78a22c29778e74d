"""What the command groups share: the error a command raises and the BOOL argument type."""
from __future__ import annotations

import argparse


class CommandError(Exception):
    """A command that cannot be carried out; the message says why."""


def parse_bool(value: str) -> bool:
    """A ``BOOL`` argument: true/yes/on/1 or false/no/off/0."""
    if value.lower() in ("true", "yes", "on", "1"):
        return True
    if value.lower() in ("false", "no", "off", "0"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, not {value!r}")
