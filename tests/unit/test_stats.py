"""The dashboard's history in the tree, and the counts that each process writes into it."""
from __future__ import annotations

import datetime

from shop import meters
from shop.meters import Meters
from shop.mirror.writer import Writer
from shop.model import stats as series
from shop.model.bootstrap import ensure_stats
from shop.model.root import app_root
from shop.model.stats import KEEP_DAYS, KEEP_UPLOADS, Stats, UploadNote, last_days
from shop.operations.daily import DailyStats, record
from tests.factories import make_wheel
from tests.unit.conftest import other_connection, publish_as, upload_form

TODAY = datetime.date(2026, 12, 1)
YESTERDAY = TODAY - datetime.timedelta(days=1)


def test_counts_add_up_per_day_and_series_and_missing_days_are_zero():
    history = Stats()
    history.add(TODAY, series.DOWNLOADS_HOSTED, 2)
    history.add(TODAY, series.DOWNLOADS_HOSTED, 3)
    history.add(YESTERDAY, series.DOWNLOADS_MIRRORED, 4)
    days = last_days(TODAY, 3)
    assert history.daily(series.DOWNLOADS_HOSTED, days) == [
        (TODAY - datetime.timedelta(days=2), 0), (YESTERDAY, 0), (TODAY, 5)]
    assert history.daily(series.DOWNLOADS_MIRRORED, days)[1] == (YESTERDAY, 4)


def test_a_level_holds_until_the_next_one_seen_and_is_unknown_before_the_first():
    history = Stats()
    ten_days_ago = TODAY - datetime.timedelta(days=10)
    assert history.set_level(ten_days_ago, series.STORED_BYTES, 100)
    assert history.set_level(YESTERDAY, series.STORED_BYTES, 300)
    assert not history.set_level(YESTERDAY, series.STORED_BYTES, 300)  # unchanged: no write
    assert [v for _d, v in history.level(series.STORED_BYTES, last_days(TODAY, 3))] == [100, 300, 300]
    assert [v for _d, v in history.level(series.STORED_BYTES, last_days(TODAY, 12))][:2] == [None, 100]


def test_days_past_the_bound_are_dropped_as_new_ones_are_written(root):
    history = root.stats
    too_old = TODAY - datetime.timedelta(days=KEEP_DAYS)
    oldest_kept = TODAY - datetime.timedelta(days=KEEP_DAYS - 1)
    history.add(too_old, series.UPLOADS, 1)
    history.set_level(too_old, series.STORED_BYTES, 5)
    history.add(oldest_kept, series.UPLOADS, 1)
    record(root, {(TODAY, series.UPLOADS): 2}, TODAY)
    assert [key[0] for key in history.counts.keys()] == [oldest_kept.isoformat(), TODAY.isoformat()]
    assert [key[0] for key in history.levels.keys()] == [TODAY.isoformat()]
    assert history.daily(series.UPLOADS, [TODAY]) == [(TODAY, 2)]


def test_concurrent_increments_from_two_connections_commit_without_conflict(db, root, tm):
    record(root, {(TODAY, series.DOWNLOADS_MIRRORED): 1}, TODAY)
    tm.commit()
    other = other_connection(db)
    try:
        other_history = app_root(other).stats
        root.stats.add(TODAY, series.DOWNLOADS_MIRRORED, 10)
        other_history.add(TODAY, series.DOWNLOADS_MIRRORED, 100)
        tm.commit()
        other.transaction_manager.commit()  # the Length resolves the conflict: no error
    finally:
        other.close()
    third = other_connection(db)
    try:
        assert app_root(third).stats.daily(series.DOWNLOADS_MIRRORED, [TODAY]) == [(TODAY, 111)]
    finally:
        third.close()


def test_a_database_made_before_the_history_gets_one_at_start_up(root):
    del root.stats  # as a root of an older version: the class's None
    assert root.stats is None
    assert ensure_stats(root) and isinstance(root.stats, Stats)
    assert not ensure_stats(root)


def test_an_upload_is_noted_for_the_dashboard_and_the_list_is_bounded(repository, root, tm):
    result = publish_as(repository, upload_form(make_wheel("Demo-Tool", "1.0")), uploader="alice")
    assert list(root.stats.latest_uploads()) == []  # noted when the upload commits
    tm.commit()
    (note,) = root.stats.latest_uploads()
    assert note == UploadNote(result.file.upload_time, "default", "demo-tool", "1", result.file.filename,
                              "Demo-Tool", "1.0", "alice")
    for n in range(KEEP_UPLOADS + 30):
        publish_as(repository, upload_form(make_wheel("many", f"1.{n}")))
        tm.commit()
    latest = list(root.stats.latest_uploads())
    assert KEEP_UPLOADS <= len(latest) <= KEEP_UPLOADS + 20
    assert latest[0].version_shown == f"1.{KEEP_UPLOADS + 29}"  # newest first
    assert [n.when for n in latest] == sorted((n.when for n in latest), reverse=True)


def test_the_listener_counts_what_the_dashboard_shows_and_ignores_the_rest():
    days = iter([YESTERDAY, TODAY, TODAY, TODAY, TODAY, TODAY])
    daily = DailyStats(writer=None, clock=lambda: next(days))
    noted = Meters()
    noted.listen(daily.counts.note)
    noted.note(meters.DOWNLOAD, repository="default", origin="hosted", cache="hit")
    noted.note(meters.DOWNLOAD, repository="default", origin="hosted", cache="hit")
    noted.note(meters.DOWNLOAD, repository="default", origin="mirrored", cache="miss")
    noted.note(meters.UPSTREAM, outcome="error")
    noted.note(meters.MIRROR_STORE, 1234, repository="default")
    noted.note(meters.UPLOAD, 999, repository="default")
    noted.note(meters.REQUEST, 0.01, kind="page", status="200")  # not counted: no day asked
    assert daily.counts.pending() == {
        (YESTERDAY, series.DOWNLOADS_HOSTED): 1,
        (TODAY, series.DOWNLOADS_HOSTED): 1,
        (TODAY, series.DOWNLOADS_MIRRORED): 1,
        (TODAY, series.CACHE_MISS): 1,
        (TODAY, series.UPSTREAM_ERROR): 1,
        (TODAY, series.MIRROR_STORED): 1234,
        (TODAY, series.UPLOADS): 1,
        (TODAY, series.UPLOAD_BYTES): 999,
    }


def test_a_flush_writes_the_counts_and_the_bytes_stored_through_the_writer(db, repository, tm):
    publish_as(repository, upload_form(make_wheel("demo", "1.0")))
    tm.commit()
    daily = DailyStats(Writer(db), clock=lambda: TODAY)
    daily.counts.note(meters.DOWNLOAD, 1, {"repository": "default", "origin": "hosted"})
    daily.flush().result(10)
    assert daily.counts.pending() == {}
    tm.abort()  # see what the writer committed
    history = app_root(repository._p_jar).stats
    assert history.daily(series.DOWNLOADS_HOSTED, [TODAY]) == [(TODAY, 1)]
    assert history.level(series.STORED_BYTES, [TODAY]) == [(TODAY, repository.stored_bytes())]
    assert repository.stored_bytes() > 0


def test_counts_a_failed_write_could_not_store_are_kept_for_the_next(db):
    daily = DailyStats(Writer(db), clock=lambda: TODAY)
    daily.counts.note(meters.UPSTREAM, 1, {"outcome": "ok"})
    db.close()  # the writer cannot write
    error = daily.flush().exception(10)
    assert error is not None
    assert daily.counts.pending() == {(TODAY, series.UPSTREAM_OK): 1}
