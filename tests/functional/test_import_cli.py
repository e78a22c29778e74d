"""``localshop import`` and ``export`` through ``cli.main`` on a real FileStorage: a bad
catalog refuses the whole import before anything is stored, and which of the two commands
runs beside a server that holds the database."""
from __future__ import annotations

import json
import os

from pyramid.paster import get_appsettings

from shop.operations.catalogs import MANIFEST, MAX_CATALOG
from shop.storage import open_database
from tests.factories import make_wheel
from tests.functional.test_cleanup_cli import ini, localshop  # noqa: F401 (ini: a fixture)


def projects(ini: str, capsys) -> str:
    return localshop(ini, capsys, "repository", "list")[1]


def test_a_manifest_naming_a_path_outside_the_directory_refuses_the_whole_import(ini, capsys,
                                                                                 tmp_path):
    export = tmp_path / "export"
    (export / "demo").mkdir(parents=True)
    make_wheel("demo", "1.0").write(export / "demo")
    make_wheel("evil", "1.0").write(tmp_path)
    (export / MANIFEST).write_text(json.dumps({"format": "localshop-export", "version": 1,
        "projects": [{"name": "evil", "owners": [], "files": [
            {"path": "../evil-1.0-py3-none-any.whl"}]}]}))
    status, out, err = localshop(ini, capsys, "import", str(export))
    assert status == 1 and out == ""
    assert "'../evil-1.0-py3-none-any.whl' is outside" in err and "refused" in err
    assert "default  projects 0" in projects(ini, capsys)


def test_an_oversized_manifest_is_refused_with_the_limit(ini, capsys, tmp_path):
    with open(tmp_path / MANIFEST, "wb") as f:
        f.truncate(MAX_CATALOG + 1)
    status, _, err = localshop(ini, capsys, "import", str(tmp_path))
    assert status == 1 and f"is too large: {MAX_CATALOG + 1} bytes, more than the" in err


def test_import_waits_for_a_stopped_server_while_export_runs_beside_it(ini, capsys, tmp_path):
    make_wheel("demo", "1.0").write(tmp_path)
    assert localshop(ini, capsys, "import", str(tmp_path))[0] == 0
    db = open_database(get_appsettings(ini)["zodbconn.uri"])  # as the running server holds it
    try:
        status, _, err = localshop(ini, capsys, "import", str(tmp_path))
        assert status == 2 and "holds its lock" in err and "stop the server and import" in err
        status, out, _ = localshop(ini, capsys, "export", str(tmp_path / "out"))
        assert status == 0 and out.startswith("Exported 1 files")
        status, _, err = localshop(ini, capsys, "export", str(tmp_path / "out"))
        assert status == 1 and "is not an empty directory" in err
    finally:
        db.close()


def test_a_full_disk_stops_the_import_storing_nothing_partial_and_a_second_run_completes(
        ini, capsys, tmp_path):
    from tests.smalldisk import fill, tmpfs

    source = tmp_path / "source"
    source.mkdir()
    dists = [make_wheel(f"big{i}", "1.0", padding=2 * 1024 * 1024) for i in range(3)]
    for dist in dists:
        dist.write(source)
    with tmpfs(tmp_path / "var", "30m") as var:
        localshop(ini, capsys, "repository", "set", "default", "--title", "Team")  # the database
        filler = fill(var, leave=3 * 1024 * 1024)  # room for one file, not for three

        status, _, err = localshop(ini, capsys, "import", str(source))

        assert status == 1
        assert "Stopped: the disk is full; the batch under way was not stored." in err
        assert "Imported 0 files" in err and "Run the import again once there is room" in err
        assert "default  projects 0" in projects(ini, capsys)
        assert [n for n in os.listdir(var / "blobs" / "tmp") if n.startswith("upload-")] == []
        filler.unlink()
        status, out, _ = localshop(ini, capsys, "import", str(source))
        assert status == 0 and out.startswith("Imported 3 files")


def test_a_file_name_with_a_line_break_or_no_utf8_is_refused_on_one_escaped_line(ini, capsys,
                                                                                tmp_path):
    (tmp_path / "evil\nrefused ok-1.0.tar.gz").write_bytes(b"x")
    # A name that is no UTF-8 (Python's os functions give its bytes as surrogates).
    with open(os.path.join(os.fsencode(tmp_path), b"caf\xe9-1.0.tar.gz"), "wb") as f:
        f.write(b"x")
    status, out, _ = localshop(ini, capsys, "import", str(tmp_path))
    assert status == 1
    lines = out.splitlines()
    assert len(lines) == 2 and all(line.startswith("refused '") for line in lines)
    assert "refused 'evil\\nrefused ok-1.0.tar.gz': Invalid filename" in out
    assert "refused 'caf\\udce9-1.0.tar.gz': Invalid filename" in out
