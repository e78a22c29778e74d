"""Error views that the functional tiers cannot reach on purpose."""
from __future__ import annotations

from pyramid.testing import DummyRequest

from shop.views.errors import conflict


def test_collisions_past_every_retry_are_a_503_asking_to_try_again():
    response = conflict(DummyRequest())
    assert response.status == ("503 Busy: concurrent changes to the same project collided; "
                               "nothing was stored. Try again.")
    assert response.headers["Retry-After"] == "1"
