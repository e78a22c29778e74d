"""``localshop block add|list|remove|import-osv`` through ``cli.main`` on a real FileStorage."""
from __future__ import annotations

import json

import pytest

from tests.functional.test_cleanup_cli import localshop
from tests.osv_entries import MALICIOUS, NPM_ONLY, REQUESTS, SEVERAL, withdrawn, write


@pytest.fixture
def ini(tmp_path) -> str:
    """An ini file of its own, the database in tmp_path (made by the first command)."""
    var, path = tmp_path / "var", tmp_path / "localshop.ini"
    path.write_text("[app:main]\nuse = egg:localshop\nshop.upstream = none\nshop.secret = s3cret\n"
                    f"zodbconn.uri = file://{var}/Data.fs?blobstorage_dir={var}/blobs\n")
    return str(path)


def listed(ini: str, capsys) -> list[dict]:
    status, out, err = localshop(ini, capsys, "block", "list", "--json")
    assert status == 0, err
    return json.loads(out)


def audited(ini: str, capsys) -> list[dict]:
    entries = [json.loads(line) for line in localshop(ini, capsys, "audit", "--json")[1].splitlines()]
    return [e for e in entries if e["kind"] == "block"]


def test_add_list_and_remove_as_the_commands_say_and_each_change_is_audited(ini, capsys):
    status, out, _ = localshop(ini, capsys, "block", "add", "Requests==2.99.0", "--reason",
                               "a bad release")
    assert (status, out) == (0, "Blocked requests==2.99.0 in every repository: a bad release\n")
    assert localshop(ini, capsys, "block", "add", "foo<1.2", "--reason", "old",
                     "--repository", "default")[0] == 0
    assert localshop(ini, capsys, "block", "add", "evil", "--reason", "malware")[0] == 0
    blocks = listed(ini, capsys)
    assert [b["spec"] for b in blocks] == ["evil", "foo<1.2", "requests==2.99.0"]
    foo = blocks[1]
    assert foo["project"] == "foo" and foo["specifier"] == "<1.2" and foo["repository"] == "default"
    assert blocks[0]["repository"] is None and blocks[0]["specifier"] == ""
    assert foo["reason"] == "old" and foo["source"] == "" and foo["by"].endswith("(command line)")
    assert foo["created"].endswith("Z") and foo["created"][:2] == "20"
    text = localshop(ini, capsys, "block", "list")[1]
    assert "foo<1.2  default  " in text and text.splitlines()[0].startswith("evil  all  ")

    status, out, _ = localshop(ini, capsys, "block", "remove", "foo<1.2", "--repository", "default")
    assert (status, out) == (0, "Removed the block of foo<1.2 in repository default\n")
    assert [b["spec"] for b in listed(ini, capsys)] == ["evil", "requests==2.99.0"]
    assert [(e["project"], e["repository"], e["detail"]["action"], e["detail"]["spec"])
            for e in audited(ini, capsys)] == [
        ("requests", "", "added", "requests==2.99.0"), ("foo", "default", "added", "foo<1.2"),
        ("evil", "", "added", "evil"), ("foo", "default", "removed", "foo<1.2")]


def test_refusals_exit_1_saying_why_and_change_nothing(ini, capsys):
    for args, said in [
        (("add", "evil", "--reason", "x", "--repository", "nope"), "No repository 'nope'"),
        (("add", "evil[extra]", "--reason", "x"), "no extras, markers or URLs"),
        (("add", "foo<<1", "--reason", "x"), "Invalid block 'foo<<1'"),
        (("add", "evil", "--reason", "   "), "Give a reason"),
        (("remove", "evil"), "No block evil for every repository"),
    ]:
        status, out, err = localshop(ini, capsys, "block", *args)
        assert (status, out) == (1, ""), args
        assert err.startswith("localshop: ") and said in err, err
    assert listed(ini, capsys) == [] and audited(ini, capsys) == []


def test_import_osv_blocks_what_a_directory_names_and_again_changes_nothing(ini, capsys, tmp_path):
    advisories = write(tmp_path / "osv" / "PyPI", REQUESTS, MALICIOUS, SEVERAL, NPM_ONLY)
    (tmp_path / "osv" / "README.txt").write_text("not JSON, and not *.json: left alone")
    status, out, err = localshop(ini, capsys, "block", "import-osv", str(advisories.parent))
    assert status == 0, err
    assert out.splitlines() == [
        "skipped GHSA-aaaa-bbbb-cccc: names no PyPI package",
        "4 advisories: 5 blocks added, 0 changed, 0 removed, 0 unchanged, 1 advisories skipped"]
    blocks = {b["spec"]: b for b in listed(ini, capsys)}
    assert sorted(blocks) == ["demo-lib<1.2", "demo-lib<=2.1.3,>=2.0", "demo-lib==3.0rc1",
                              "reqeusts-toolbelt", "requests<2.31.0,>=2.3.0"]
    assert blocks["reqeusts-toolbelt"]["source"] == "osv:MAL-2024-2841"
    assert blocks["reqeusts-toolbelt"]["reason"] == "MAL-2024-2841: Malicious code in reqeusts-toolbelt (PyPI)"
    entries = len(audited(ini, capsys))
    assert entries == 5

    status, out, _ = localshop(ini, capsys, "block", "import-osv", str(advisories))
    assert out.splitlines()[-1] == ("4 advisories: 0 blocks added, 0 changed, 0 removed, "
                                    "5 unchanged, 1 advisories skipped")
    assert len(audited(ini, capsys)) == entries  # nothing recorded the second time


def test_a_withdrawn_advisory_reimported_removes_its_blocks(ini, capsys, tmp_path):
    localshop(ini, capsys, "block", "import-osv", str(write(tmp_path / "a", MALICIOUS)))
    status, out, _ = localshop(ini, capsys, "block", "import-osv",
                               str(write(tmp_path / "b", withdrawn(MALICIOUS)) / "MAL-2024-2841.json"))
    assert status == 0 and out.splitlines() == [
        "skipped MAL-2024-2841: withdrawn 2024-07-01T00:00:00Z",
        "removed reqeusts-toolbelt (its advisory no longer names it)",
        "1 advisories: 0 blocks added, 0 changed, 1 removed, 0 unchanged, 1 advisories skipped"]
    assert listed(ini, capsys) == []
    assert [e["detail"]["action"] for e in audited(ini, capsys)] == ["added", "removed"]


def test_one_unreadable_file_imports_nothing_and_names_it(ini, capsys, tmp_path):
    directory = write(tmp_path / "osv", REQUESTS, MALICIOUS)
    (directory / "ZZ-broken.json").write_text('{"id": "ZZ-1", "affected": [')
    status, out, err = localshop(ini, capsys, "block", "import-osv", str(directory))
    assert status == 1 and out == ""
    assert f"{directory / 'ZZ-broken.json'}: not JSON" in err and "Nothing was imported." in err
    assert listed(ini, capsys) == []
    status, _, err = localshop(ini, capsys, "block", "import-osv", str(tmp_path / "missing"))
    assert status == 1 and "No file or directory" in err
    (tmp_path / "empty").mkdir()
    status, _, err = localshop(ini, capsys, "block", "import-osv", str(tmp_path / "empty"))
    assert status == 1 and "No *.json files in" in err
