"""The shop.* settings (shop/settings.py): defaults, and errors that name the key."""
from __future__ import annotations

import pytest
from pypi_simple import PYPI_SIMPLE_ENDPOINT

from shop.settings import GiB, SettingsError, ensure_storage_dirs, read_settings


def read(**values):
    """Settings from ini values (``shop.secret`` given: it is not what these tests are about)."""
    return read_settings({"shop.secret": "s3cret", **values}, environ={})


def test_defaults_when_nothing_is_set():
    settings = read()
    assert settings.upstream == PYPI_SIMPLE_ENDPOINT
    assert settings.upstream_timeout == (10.0, 60.0)
    assert settings.index_ttl == 600
    assert settings.max_upload_size == GiB
    assert settings.page_cache_size == 256 * 1024**2
    assert settings.argon2_profile == "RFC_9106_LOW_MEMORY"
    assert settings.admin_password is None
    assert settings.audit_days == 365


def test_values_are_parsed():
    settings = read_settings(
        {"shop.upstream": "http://mirror.invalid/simple", "shop.upstream.timeout": "2, 30",
         "shop.mirror.index_ttl": " 0 ", "shop.max_upload_size": "1000", "shop.secret": "s",
         "shop.page_cache_size": "0"},
        environ={"LOCALSHOP_ADMIN_PASSWORD": "pw"},
    )
    assert settings.upstream == "http://mirror.invalid/simple/"
    assert settings.upstream_timeout == (2.0, 30.0)
    assert (settings.index_ttl, settings.max_upload_size, settings.admin_password) == (0, 1000, "pw")
    assert settings.page_cache_size == 0  # keeps no page


def test_the_audit_log_keeps_the_days_it_is_told():
    assert read(**{"shop.audit.days": " 30 "}).audit_days == 30


@pytest.mark.parametrize("value", ["none", "off", "", " None "])
def test_upstream_can_be_switched_off(value):
    assert read(**{"shop.upstream": value}).upstream is None


def test_one_timeout_is_both_connect_and_read():
    assert read(**{"shop.upstream.timeout": "5"}).upstream_timeout == (5.0, 5.0)


@pytest.mark.parametrize(("key", "value"), [
    ("shop.max_upload_size", "big"),
    ("shop.max_upload_size", "0"),
    ("shop.max_upload_size", "-1"),
    ("shop.max_upload_size", "1.5"),
    ("shop.argon2_profile", "fast"),
    ("shop.argon2_profile", "PRE_21_2"),
    ("shop.page_cache_size", "256M"),
    ("shop.page_cache_size", "-1"),
    ("shop.mirror.index_ttl", "ten minutes"),
    ("shop.mirror.index_ttl", "-5"),
    ("shop.upstream", "ftp://mirror.invalid/simple/"),
    ("shop.upstream", "mirror.invalid/simple/"),
    ("shop.upstream", "https://"),
    ("shop.upstream.timeout", "soon"),
    ("shop.upstream.timeout", "1 2 3"),
    ("shop.upstream.timeout", "0"),
    ("shop.upstream.timeout", "5 -1"),
    ("shop.audit.days", "a year"),
    ("shop.audit.days", "0"),
])
def test_bad_values_raise_settings_error_naming_the_key(key, value):
    with pytest.raises(SettingsError) as raised:
        read(**{key: value})
    message = str(raised.value)
    assert message.startswith(f"{key} = ") and repr(value) in message


def test_storage_dirs_of_a_file_uri_are_created(tmp_path):
    ensure_storage_dirs(f"file://{tmp_path}/var/Data.fs?blobstorage_dir={tmp_path}/var/blobs&x=1")
    assert (tmp_path / "var").is_dir() and (tmp_path / "var" / "blobs").is_dir()


def test_other_uris_create_nothing(tmp_path):
    ensure_storage_dirs(f"zeo://{tmp_path}/zeo.sock")
    assert list(tmp_path.iterdir()) == []


def _file_settings(var_dir) -> dict:
    return {"zodbconn.uri": f"file://{var_dir}/Data.fs?blobstorage_dir={var_dir}/blobs"}


def test_the_session_key_made_on_first_start_is_kept(tmp_path):
    first = read_settings(_file_settings(tmp_path / "var"), environ={}).secret
    assert len(first) == 64 and (tmp_path / "var" / "secret").read_text() == first
    assert read_settings(_file_settings(tmp_path / "var"), environ={}).secret == first
    assert sorted(p.name for p in (tmp_path / "var").iterdir()) == ["secret"]  # no temporary file


@pytest.mark.fault
def test_an_empty_session_key_a_crash_left_is_replaced_not_used(tmp_path):
    # The old way of writing var/secret (create, then write) left it empty when killed between.
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "secret").write_text("")
    key = read_settings(_file_settings(tmp_path / "var"), environ={}).secret
    assert len(key) == 64 and (tmp_path / "var" / "secret").read_text() == key
    assert sorted(p.name for p in (tmp_path / "var").iterdir()) == ["secret"]


def test_metrics_networks_default_to_loopback_and_parse_like_read_networks():
    assert read().metrics_networks == ("127.0.0.1/32", "::1/128")
    assert read(**{"shop.metrics.networks": "10.1.2.3/8, fd00::/8"}).metrics_networks == (
        "10.0.0.0/8", "fd00::/8")
    assert read(**{"shop.metrics.networks": "none"}).metrics_networks == ()
    with pytest.raises(SettingsError, match="shop.metrics.networks: 'intranet' is not a network"):
        read(**{"shop.metrics.networks": "10.0.0.0/8 intranet"})


def test_the_low_disk_mark_of_health_defaults_to_a_gib_and_names_its_key_when_bad():
    assert read().health_low_disk == GiB
    with pytest.raises(SettingsError, match="shop.health.low_disk = 'much'"):
        read(**{"shop.health.low_disk": "much"})
