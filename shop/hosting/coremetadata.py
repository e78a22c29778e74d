"""Core metadata's version and the fields of 2.4 and 2.5: what an upload may say about them.

Metadata-Version 1.x and 2.x are read, a 2.x newer than packaging knows too: a minor version
only adds fields, which ``parse_email`` leaves in ``unparsed`` (ignored here; none of the
fields this index stores). A new major version may change what known fields mean: refused.

License-Expression is checked and stored in its canonical SPDX form; License-File,
Import-Name and Import-Namespace are checked with packaging's own validators. For a wheel
its METADATA is the truth: its values are stored, a form value that differs is refused (as a
name or version that differs is), and a form value the METADATA lacks is not kept (setuptools
wrote License-File under 2.1, which twine and uv may send). A field is kept only under a
metadata version that defines it, as twine does for License-File.
"""
from __future__ import annotations

from packaging.licenses import InvalidLicenseExpression, canonicalize_license_expression
from packaging.metadata import ExceptionGroup, Metadata, parse_email
from packaging.version import InvalidVersion, Version

from shop.hosting import forms
from shop.hosting.errors import UploadError

KNOWN_MAJORS = (1, 2)
ACCEPTED = "Metadata-Version 1.x and 2.x (2.5, and any later 2.x)"
# The fields this module looks after, the metadata version that added each, their headers.
ADDED = {"license_expression": Version("2.4"), "license_files": Version("2.4"),
         "import_names": Version("2.5"), "import_namespaces": Version("2.5")}
HEADERS = {"license_expression": "License-Expression", "license_files": "License-File",
           "import_names": "Import-Name", "import_namespaces": "Import-Namespace"}
WHEEL = "in the wheel's METADATA"


def release_metadata(metadata: dict, core_metadata: bytes | None) -> dict:
    """The metadata to store with the release: the form's (``metadata``), its version and
    2.4/2.5 fields checked, with a wheel's METADATA (``core_metadata``) reconciled."""
    result = dict(metadata)
    version = check_version(result.get("metadata_version"), "in the form")
    for key in ADDED:
        if key in result:
            result[key] = checked(key, result[key], "in the form")
    if core_metadata is not None:
        version = _reconcile(result, core_metadata) or version
    for key, added in ADDED.items():
        # Not a field of that version (packaging would refuse it there), or empty.
        if (version is not None and version < added) or not result.get(key):
            result.pop(key, None)
    return result


def check_version(value: str | None, where: str) -> Version | None:
    """The metadata version given (None for none); UploadError for a new major or nonsense."""
    if not value:
        return None
    if len(value) > forms.FIELD_LENGTHS["metadata_version"]:
        raise UploadError(f"Invalid metadata version {where}: {len(value)} characters long.")
    try:
        version = Version(value)
    except InvalidVersion:
        raise UploadError(
            f"Invalid metadata version {value!r} {where}: this index accepts {ACCEPTED}."
        ) from None
    if version.major not in KNOWN_MAJORS:
        raise UploadError(
            f"Unsupported metadata version {value} {where}: this index accepts {ACCEPTED}; "
            f"{version.major}.x is a new major version, which it cannot read. Build the "
            "distribution with a tool that writes core metadata 2.x."
        )
    return version


def checked(key: str, value, where: str):
    """A 2.4/2.5 field's value within its limits and valid, canonical for an SPDX expression."""
    if key == "license_expression":
        _check_limits(key, [value], where)
        try:
            return canonicalize_license_expression(value)
        except InvalidLicenseExpression as e:
            raise UploadError(
                f"Invalid License-Expression {value!r} {where}: {e}. Give an SPDX license "
                "expression such as 'MIT OR Apache-2.0'."
            ) from None
    values = [v for v in (value if isinstance(value, list) else [value]) if v]
    _check_limits(key, values, where)
    try:
        Metadata.from_raw({"metadata_version": "2.5", "name": "x", "version": "0", key: values})
    except ExceptionGroup as group:
        raise UploadError(
            f"Invalid {HEADERS[key]} {where}: " + "; ".join(str(e) for e in group.exceptions)
        ) from None
    return values


def _check_limits(key: str, values: list[str], where: str) -> None:
    """The form's limits (``forms.FIELD_COUNTS``, ``FIELD_LENGTHS``), for a wheel's values too."""
    most = forms.FIELD_COUNTS.get(key, forms.MAX_VALUES)
    if len(values) > most:
        raise UploadError(f"Too many values of {key!r} {where}: {len(values)}, more than {most}.")
    limit = forms.FIELD_LENGTHS[key]
    for one in values:
        if len(one) > limit:
            raise UploadError(
                f"Field {key!r} {where} is too long: {len(one)} characters, more than {limit}."
            )


def _reconcile(result: dict, core_metadata: bytes) -> Version | None:
    """Put the wheel's own version and 2.4/2.5 fields into ``result``; its metadata version."""
    raw, unparsed = parse_email(core_metadata)
    given = _single(raw, unparsed, "metadata_version", "Metadata-Version")
    version = check_version(given, WHEEL)
    if version is not None:
        # distutils' upload sends 1.0 whatever the file says: the file's is the one kept.
        result["metadata_version"] = given
    for key, added in ADDED.items():
        if key == "license_expression":
            value = _single(raw, unparsed, key, HEADERS[key])
        else:  # an older packaging leaves Import-Name in ``unparsed``
            value = raw.get(key) or unparsed.get(HEADERS[key].lower())
        if not value or (version is not None and version < added):
            result.pop(key, None)  # the wheel does not carry it
            continue
        ours = checked(key, value, WHEEL)
        if key in result and result[key] != ours:
            raise UploadError(
                f"{HEADERS[key]} in the form ({_shown(result[key])}) differs from the wheel's "
                f"METADATA ({_shown(ours)}): upload the wheel as built, with the fields the "
                "client read from it."
            )
        result[key] = ours
    return version


def _single(raw: dict, unparsed: dict, key: str, header: str) -> str | None:
    """A single-use field of the METADATA; packaging leaves one given twice in ``unparsed``."""
    if key in raw:
        return str(raw[key])
    values = unparsed.get(header.lower()) or []
    if len(values) > 1:
        raise UploadError(f"Invalid wheel: {header} is given {len(values)} times {WHEEL}.")
    return values[0] if values else None


def _shown(value) -> str:
    """A value for a message: short, since the reason phrase is cut at 400 characters."""
    text = ", ".join(value) if isinstance(value, list) else value
    return text if len(text) <= 100 else text[:100] + "..."
