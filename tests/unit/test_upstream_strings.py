"""The strings of one file taken from upstream's listing are bounded (shop/mirror/upstream.py)."""
import pytest
from pypi_simple import DistributionPackage

from shop.mirror.upstream import (
    REQUIRES_PYTHON_LIMIT, URL_LIMIT, YANKED_REASON_LIMIT, listed_entry,
)

pytestmark = pytest.mark.fault
FILENAME = "demo-1.0-py3-none-any.whl"


def package(**kw) -> DistributionPackage:
    fields = {"filename": FILENAME, "url": "https://files.example/" + FILENAME, "project": "demo",
              "version": "1.0", "package_type": "wheel", "digests": {}, "requires_python": None,
              "has_sig": None, **kw}
    return DistributionPackage(**fields)


def test_a_file_with_an_over_long_url_is_dropped():
    assert listed_entry(package(url="https://x/" + "a" * URL_LIMIT)) is None
    assert listed_entry(package()) is not None


def test_an_over_long_requires_python_is_dropped():
    long = ">=3.8," + "!=3.9.1," * REQUIRES_PYTHON_LIMIT
    assert listed_entry(package(requires_python=long)).requires_python is None
    assert listed_entry(package(requires_python=">=3.8")).requires_python == ">=3.8"


def test_an_over_long_yanked_reason_is_truncated():
    file = listed_entry(package(is_yanked=True, yanked_reason="r" * 10**6))
    assert file.yanked and file.yanked_reason == "r" * YANKED_REASON_LIMIT


@pytest.mark.parametrize("digests", [{"sha256": "a" * 10**5}, {"sha256": "z" * 64}])
def test_a_file_whose_sha256_is_no_sha256_is_dropped(digests):
    assert listed_entry(package(digests=digests)) is None
    assert listed_entry(package(digests={"sha256": "a" * 64})).sha256 == "a" * 64
    bad_metadata = package(has_metadata=True, metadata_digests=digests)
    assert listed_entry(bad_metadata) is None
