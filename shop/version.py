"""The version of localshop, for the upstream client's User-Agent and the admin pages."""

__version__ = "2.0.0.dev0"
