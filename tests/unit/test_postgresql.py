"""shop/postgresql.py without a server: the claims' keys, and what other storages get.
(Against a real PostgreSQL: tests/e2e/test_postgresql_notices.py and test_postgresql.py.)"""
from __future__ import annotations

import subprocess
import sys

from ZODB.MappingStorage import MappingStorage

from shop.postgresql import NoClaims, claim_key, dsn_of

KEY = ("default", "demo", "1.0", "demo-1.0-py3-none-any.whl")


def test_a_claim_key_is_the_same_in_every_process_and_differs_between_files():
    # Every process on every machine must name a file's lock alike: not Python's hash(),
    # which differs between processes.
    code = "from shop.postgresql import claim_key; print(claim_key(%r))" % (KEY,)
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, env={"PYTHONHASHSEED": "12345"}).stdout
    assert int(other) == claim_key(KEY)
    assert -(2**63) <= claim_key(KEY) < 2**63  # PostgreSQL's bigint
    others = {claim_key(("default", "demo", "1.0", f"demo-1.0-{n}.whl")) for n in range(1000)}
    assert len(others) == 1000 and claim_key(KEY) not in others


def test_other_storages_have_no_dsn_and_no_one_to_wait_for():
    assert dsn_of(MappingStorage()) is None
    with NoClaims().hold(KEY) as claim:
        assert not claim.waited
