"""Benchmarks of localshop (and, later, of peer indexes): run on demand with ``make bench``."""
