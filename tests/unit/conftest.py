"""Unit-test fixtures: domain objects in a ZODB on DemoStorage, with real transactions."""
from __future__ import annotations

import io

import pytest
import transaction
import ZODB
import ZODB.DemoStorage

from shop.hosting.forms import UploadForm
from shop.hosting.publishing import UploadResult, publish
from shop.hosting.receiving import receive_stream
from shop.model.bootstrap import bootstrap
from shop.pages.cache import PageCache


@pytest.fixture
def db():
    # A DemoStorage without a base keeps blobs in a temporary directory of its own.
    database = ZODB.DB(ZODB.DemoStorage.DemoStorage())
    yield database
    database.close()


@pytest.fixture
def tm():
    return transaction.TransactionManager()


@pytest.fixture
def conn(db, tm):
    connection = db.open(transaction_manager=tm)
    yield connection
    tm.abort()
    connection.close()


@pytest.fixture
def root(conn, tm):
    app_root, _created = bootstrap(conn.root(), None)
    tm.commit()
    return app_root


@pytest.fixture
def pages():
    """The process's page cache, as the app makes it."""
    return PageCache(256 * 1024**2)


@pytest.fixture
def repository(root):
    return root.repositories["default"]


MAX_SIZE = 10 * 1024 * 1024


def publish_as(repository, form: UploadForm, *, uploader: str = "admin",
               may_release=lambda package: True) -> UploadResult:
    """``publish()`` as the upload view calls it, by an uploader who may manage every project."""
    return publish(repository, form, uploader, may_release)


def other_connection(db):
    """A second connection with its own transaction manager: sees only what was committed."""
    return db.open(transaction_manager=transaction.TransactionManager())


def upload_form(dist, *, filename: str | None = None, max_size: int = MAX_SIZE,
                **overrides) -> UploadForm:
    """The UploadForm a twine upload of ``dist`` parses into: its bytes received (in the
    system's temporary directory) unless ``content`` is given."""
    filename = filename or dist.filename
    if "content" not in overrides:
        overrides["content"] = receive_stream(io.BytesIO(dist.data), filename, None, max_size)
    fields = dict(
        action="file_upload",
        protocol_version="1",
        name=dist.name,
        version=dist.version,
        filetype=dist.filetype,
        pyversion="py3" if dist.filetype == "bdist_wheel" else "source",
        filename=filename,
        digests={"sha256": dist.sha256},
        metadata={"summary": "A test project", "metadata_version": "2.1"},
    )
    fields.update(overrides)
    return UploadForm(**fields)
