"""Uploads that decompress past a limit (issue 11): a small archive whose METADATA or first
tar header expands enormously is refused with a 413 naming the limit, and nothing is kept."""
from __future__ import annotations

import pytest

from shop.model import wheels
from tests.factories import bomb_wheel, pax_bomb_sdist
from tests.functional.conftest import assert_refused, project_files, upload

pytestmark = pytest.mark.fault


def test_a_wheel_whose_metadata_expands_past_the_limit_is_413(app):
    dist = bomb_wheel("demo", "1.0", metadata_size=4 * wheels.MAX_METADATA)
    assert len(dist.data) < 1 << 20  # a small upload
    r = upload(app, dist)
    assert_refused(app, r, 413, "METADATA is larger than", str(wheels.MAX_METADATA))


def test_a_wheel_with_metadata_just_within_the_limit_is_stored(app):
    dist = bomb_wheel("demo", "1.0", metadata_size=wheels.MAX_METADATA)
    assert upload(app, dist).status_int == 200
    assert project_files(app, "demo")[dist.filename]["core-metadata"]


def test_an_sdist_whose_first_header_expands_past_the_limit_is_413(app):
    dist = pax_bomb_sdist("demo", "1.0", header_size=64 << 20)
    r = upload(app, dist)
    assert_refused(app, r, 413, "no tar header within its first", "1048576")
