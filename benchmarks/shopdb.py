"""Filling a localshop database with a hosted fixture before its server starts.

Uploading 20,000 projects through HTTP would take longer than the benchmark itself, so the
database is opened directly, with localshop's own code, while no server holds its lock: every
file is received and goes through ``shop.hosting.publishing.publish`` exactly as an upload
would (checks, hashes, blob, core metadata), in batches of a few hundred per transaction. The
result is kept under ``benchmarks/work/fixtures/localshop-N/`` and copied (blobs as hard links)
for each run; it is rebuilt when the fixture or any file under ``shop/`` changes, since a
database written by other code may not be what the current code would write.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from pathlib import Path

from .fixtures import FIXTURES, REPO, HostedFixture, WheelFile

ADMIN_PASSWORD = "bench-secret"
SECRET = "benchmark-only-cookie-secret"
BATCH = 500


def storage_uri(var: Path) -> str:
    return (f"file://{var}/Data.fs?blobstorage_dir={var}/blobs&blobstorage_layout=bushy"
            "&connection_cache_size=20000")


def settings_dict(var: Path, upstream: str | None) -> dict[str, str]:
    """The ``[app:main]`` keys that matter here, as the ini file gives them."""
    return {
        "zodbconn.uri": storage_uri(var),
        "shop.upstream": upstream or "none",
        "shop.default.anonymous_read": "true",
        "shop.secret": SECRET,
        "shop.max_upload_size": str(2 * 1024**3),
    }


def shop_sources_hash() -> str:
    """A digest of every file under shop/: the cached database is only good for this code."""
    digest = hashlib.sha256()
    for path in sorted((REPO / "shop").rglob("*.py")):
        digest.update(str(path.relative_to(REPO)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def cached_database(fixture: HostedFixture) -> Path:
    """The var/ directory of a database holding ``fixture``, built if needed."""
    directory = FIXTURES / f"localshop-{fixture.projects}"
    key = f"{fixture.key} shop={shop_sources_hash()}"
    stamp = directory / ".stamp"
    if stamp.exists() and stamp.read_text() == key:
        return directory / "var"
    print(f"  loading {fixture.projects:,} projects into a localshop database "
          f"({directory.relative_to(REPO)}) ...", flush=True)
    shutil.rmtree(directory, ignore_errors=True)
    start = time.perf_counter()
    load(directory / "var", fixture.files)
    print(f"  ... in {time.perf_counter() - start:.0f} s", flush=True)
    stamp.write_text(key)
    return directory / "var"


def copy_database(source: Path, target: Path) -> None:
    """A private copy of a database: the file copied, the (immutable) blob files hard-linked."""
    target.mkdir(parents=True)
    for name in os.listdir(source):
        if name.startswith("Data.fs") and not name.endswith(".lock"):
            shutil.copy2(source / name, target / name)
    subprocess.run(["cp", "-al", str(source / "blobs"), str(target / "blobs")], check=True)
    if (source / "secret").exists():
        shutil.copy2(source / "secret", target / "secret")


def load(var: Path, files: tuple[WheelFile, ...]) -> None:
    """Create a localshop database in ``var`` and publish ``files`` into repository default."""
    load_into(settings_dict(var, None), files)


def load_into(app_settings: dict[str, str], files: tuple[WheelFile, ...]) -> None:
    """Create a localshop database at ``app_settings``' ``zodbconn.uri`` (any storage: an
    embedded FileStorage, RelStorage in ``scaleout.py``) and publish ``files`` into it."""
    # Imported here: the benchmark's other modules must not need localshop's dependencies.
    import transaction

    from shop.access.passwords import Passwords
    from shop.hosting.publishing import publish
    from shop.hosting.receiving import receive_stream
    from shop.model.root import DEFAULT_REPOSITORY, app_root
    from shop.settings import read_settings
    from shop.storage import initialize, open_database, temporary_directory

    settings = read_settings(app_settings, environ={"LOCALSHOP_ADMIN_PASSWORD": ADMIN_PASSWORD})
    db = open_database(app_settings["zodbconn.uri"])
    try:
        initialize(db, settings, Passwords(settings.argon2_profile))
        tm = transaction.TransactionManager()
        conn = db.open(transaction_manager=tm)
        try:
            for i in range(0, len(files), BATCH):
                with tm:
                    repository = app_root(conn).repositories[DEFAULT_REPOSITORY]
                    for f in files[i:i + BATCH]:
                        with open(f.path, "rb") as content:
                            received = receive_stream(content, f.filename, temporary_directory(db),
                                                      settings.max_upload_size)
                        # It runs as the admin, whom the ACL lets release into every project.
                        publish(repository, _form(f, received), "admin",
                                may_release=lambda package: True)
                conn.cacheMinimize()
        finally:
            conn.close()
    finally:
        db.close()


def _form(f: WheelFile, received):
    from shop.hosting.forms import UploadForm

    return UploadForm(
        action="file_upload", protocol_version="1", name=f.project, version=f.version,
        filetype="bdist_wheel", pyversion="py3", filename=f.filename, content=received,
        digests={"sha256": f.sha256}, metadata={"summary": "A benchmark project", "metadata_version": "2.1"},
    )
