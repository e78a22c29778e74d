"""Access: who is asking (identity from HTTP Basic or a session cookie) and what they may do."""
from __future__ import annotations

from shop.access.policy import includeme  # noqa: F401 (config.include(".access"))
