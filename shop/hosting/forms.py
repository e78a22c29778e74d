"""The upload form: the fields of a legacy-API upload as the client sent them, and its file."""
from __future__ import annotations

from dataclasses import dataclass, field

from webob.multidict import MultiDict

from shop.hosting.receiving import FIELD_LIMIT, ReceivedFile

# Core-metadata fields a client may send more than once (twine sends them plural).
MULTI_FIELDS = (
    "classifiers", "platform", "supported_platform", "requires_dist", "provides_dist",
    "obsoletes_dist", "requires_external", "project_urls", "provides_extra", "dynamic",
    "license_files", "requires", "provides", "obsoletes", "import_names", "import_namespaces",
)
# Other names clients send them under: twine and uv send ``license_file``, uv
# ``import_names``; the singular forms are the headers' own (``Import-Name``).
ALIASES = {"license_file": "license_files", "import_name": "import_names",
           "import_namespace": "import_namespaces"}
SINGLE_FIELDS = (
    "metadata_version", "summary", "description", "description_content_type", "keywords",
    "home_page", "download_url", "author", "author_email", "maintainer", "maintainer_email",
    "license", "license_expression", "requires_python",
)
# Characters a field may hold. Warehouse caps ``summary`` at 512; a README (``description``)
# may be as long as a form field may be (``receiving.FIELD_LIMIT`` bytes), a license text
# 64 KiB; every other metadata value (one ``Requires-Dist``, an author list) 4 KiB. An SPDX
# expression, a license file's path within the wheel, a dotted import name: far less.
FIELD_LENGTHS = {"summary": 512, "description": FIELD_LIMIT, "license": 64 * 1024,
                 "metadata_version": 32, "license_expression": 1024, "license_files": 1024,
                 "import_names": 256, "import_namespaces": 256}
FIELD_LENGTH = 4096
# The protocol's own short fields: an action, a file type, a digest (128 hex digits at most).
SHORT_LENGTH = 128
MAX_VALUES = 1000  # values of one multiple-use field (real projects have tens of classifiers)
# Fewer of these: a wheel with its vendored projects' licenses has tens of license files, a
# distribution rarely more than a few top-level import names.
FIELD_COUNTS = {"license_files": 256, "import_names": 256, "import_namespaces": 256}
# All metadata values together (the description's 1 MiB and as much again for the rest): each
# field within its limit could still add up to tens of MB in the one release record.
METADATA_LENGTH = 2 * 1024 * 1024
DIGEST_FIELDS = (("md5", "md5_digest"), ("sha256", "sha256_digest"), ("blake2_256", "blake2_256_digest"))


@dataclass
class UploadForm:
    """The fields of a legacy-API upload, as the client sent them, and the file received."""

    action: str | None
    protocol_version: str | None
    name: str | None
    version: str | None
    filetype: str | None
    pyversion: str | None
    filename: str | None
    content: ReceivedFile | None
    digests: dict[str, str] = field(default_factory=dict)
    metadata: dict = field(default_factory=dict)
    attestations: str | None = None  # PEP 740: a JSON array (``shop.hosting.attestations``)

    @classmethod
    def from_fields(cls, fields: MultiDict, received: ReceivedFile | None) -> "UploadForm":
        """Read an upload from what ``receiving.receive_form`` yields: the fields (the query's
        too, for ``:action``) and the received file, the only place the file comes from."""
        metadata: dict = {key: fields.getall(key) for key in MULTI_FIELDS if key in fields}
        for alias, key in ALIASES.items():
            if alias in fields:
                metadata[key] = metadata.get(key, []) + fields.getall(alias)
        metadata.update({key: fields[key] for key in SINGLE_FIELDS if fields.get(key)})
        return cls(
            action=fields.get(":action"),
            protocol_version=fields.get("protocol_version"),
            name=(fields.get("name") or "").strip() or None,
            version=(fields.get("version") or "").strip() or None,
            filetype=fields.get("filetype"),
            pyversion=fields.get("pyversion"),
            filename=received.filename if received else None,
            content=received,
            digests={
                algo: fields[key].strip().lower() for algo, key in DIGEST_FIELDS if fields.get(key)
            },
            metadata=metadata,
            attestations=fields.get("attestations"),
        )

    def discard(self) -> None:
        """Remove the received file, unless a blob has taken it over already."""
        if self.content is not None:
            self.content.discard()
