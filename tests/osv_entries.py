"""OSV entries as OSV's database publishes them (schema 1.6: id, modified, summary, details,
aliases, affected[{package, ranges, versions}], withdrawn), for the tests of blocks."""
from __future__ import annotations

import json
from pathlib import Path

# A vulnerability fixed in a later release: ranges of type ECOSYSTEM and the versions listed.
REQUESTS = {
    "schema_version": "1.6.0",
    "id": "PYSEC-2023-74",
    "modified": "2023-06-05T19:04:12.946000Z",
    "published": "2023-05-26T18:15:00Z",
    "aliases": ["CVE-2023-32681", "GHSA-j8r2-6x86-q33q"],
    "summary": "Unintended leak of Proxy-Authorization header in requests",
    "details": "Requests is a HTTP library. Since Requests 2.3.0, Requests has been leaking "
               "Proxy-Authorization headers to destination servers when redirected to an "
               "HTTPS endpoint.",
    "affected": [{
        "package": {"ecosystem": "PyPI", "name": "requests", "purl": "pkg:pypi/requests"},
        "ranges": [
            {"type": "GIT", "repo": "https://github.com/psf/requests",
             "events": [{"introduced": "0"}, {"fixed": "74ea7cf7a6a27a4eeb2ae24e162bcc942a6706d5"}]},
            {"type": "ECOSYSTEM", "events": [{"introduced": "2.3.0"}, {"fixed": "2.31.0"}]},
        ],
        "versions": ["2.3.0", "2.30.0"],
    }],
    "references": [{"type": "ADVISORY", "url": "https://github.com/advisories/GHSA-j8r2-6x86-q33q"}],
}

# A malicious package (OSV's MAL- entries): every version, introduced 0 and never fixed.
MALICIOUS = {
    "schema_version": "1.5.0",
    "id": "MAL-2024-2841",
    "modified": "2024-06-03T08:19:23Z",
    "published": "2024-05-31T16:18:02Z",
    "summary": "Malicious code in reqeusts-toolbelt (PyPI)",
    "details": "\n---\n_-= Per source details. Do not edit below this line.=-_\n\n## Source: "
               "ossf-package-analysis\nThe package reqeusts-toolbelt was found to contain "
               "malicious code.",
    "affected": [{
        "package": {"ecosystem": "PyPI", "name": "Reqeusts_Toolbelt", "purl": "pkg:pypi/reqeusts-toolbelt"},
        "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}],
        "versions": ["0.1.0", "0.1.1"],
        "database_specific": {"malicious-packages-origins": [{"source": "ossf-package-analysis"}]},
    }],
}

# Two intervals (one closed by last_affected), a version outside them, and an npm package.
SEVERAL = {
    "id": "GHSA-9wx4-h78v-vm56",
    "modified": "2024-02-01T00:00:00Z",
    "summary": "Two broken lines of demo-lib",
    "affected": [
        {"package": {"ecosystem": "PyPI", "name": "demo-lib"},
         "ranges": [{"type": "ECOSYSTEM", "events": [
             {"introduced": "0"}, {"fixed": "1.2"}, {"introduced": "2.0"}, {"last_affected": "2.1.3"}]}],
         "versions": ["1.0", "1.1", "2.0", "2.1.3", "3.0rc1"]},
        {"package": {"ecosystem": "npm", "name": "demo-lib"},
         "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}]}]},
    ],
}

# Only versions, no ranges.
VERSIONS_ONLY = {
    "id": "PYSEC-2024-1",
    "modified": "2024-01-01T00:00:00Z",
    "summary": "Two bad uploads of pinned-lib",
    "affected": [{"package": {"ecosystem": "PyPI", "name": "pinned-lib"},
                  "versions": ["1.0.1", "1.0.2"]}],
}

NPM_ONLY = {
    "id": "GHSA-aaaa-bbbb-cccc",
    "modified": "2024-01-01T00:00:00Z",
    "summary": "Something in a JavaScript package",
    "affected": [{"package": {"ecosystem": "npm", "name": "left-pad"},
                  "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "1.3.0"}]}]}],
}


def withdrawn(entry: dict, when: str = "2024-07-01T00:00:00Z") -> dict:
    """``entry`` as OSV publishes it once it is withdrawn."""
    return dict(entry, withdrawn=when, modified=when)


def write(directory: Path, *entries: dict) -> Path:
    """Each entry in a file of its own, ``<id>.json``, as OSV's exports are; the directory."""
    directory.mkdir(parents=True, exist_ok=True)
    for entry in entries:
        (directory / f"{entry['id']}.json").write_text(json.dumps(entry, indent=2))
    return directory
