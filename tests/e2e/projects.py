"""Throwaway projects for the end-to-end tests, as files the real clients build or upload.

pip and uv build an sdist in an isolated environment whose build requirements come from the
index: with only localshop to ask, a setuptools sdist could not be built. These sdists carry
their own PEP 517 backend (``backend-path``) and need nothing from any index to build.
"""
from __future__ import annotations

import json
import textwrap

from packaging.utils import canonicalize_name

from tests.factories import Dist, metadata_text, tar_gz

BACKEND = textwrap.dedent('''\
    """A PEP 517 backend without dependencies: zips the package into a py3-none-any wheel."""
    import base64
    import hashlib
    import os
    import zipfile

    NAME = {dist_name!r}
    VERSION = {version!r}
    METADATA = {metadata!r}


    def _record_line(path, data):
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        return f"{{path}},sha256={{digest}},{{len(data)}}"


    def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
        dist_info = f"{{NAME}}-{{VERSION}}.dist-info"
        files = {{}}
        for name in sorted(os.listdir(NAME)):
            if name.endswith(".py"):
                with open(os.path.join(NAME, name), "rb") as f:
                    files[f"{{NAME}}/{{name}}"] = f.read()
        files[f"{{dist_info}}/METADATA"] = METADATA.encode()
        files[f"{{dist_info}}/WHEEL"] = (
            b"Wheel-Version: 1.0\\nGenerator: e2e-backend\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"
        )
        record = [_record_line(p, d) for p, d in files.items()] + [f"{{dist_info}}/RECORD,,"]
        files[f"{{dist_info}}/RECORD"] = ("\\n".join(record) + "\\n").encode()
        filename = f"{{NAME}}-{{VERSION}}-py3-none-any.whl"
        with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w") as zf:
            for path, data in files.items():
                zf.writestr(path, data)
        return filename
''')


def make_self_building_sdist(name: str, version: str, build_requires: tuple[str, ...] = ()) -> Dist:
    """An sdist whose package says ``ORIGIN = "sdist"``, buildable with no index at all
    (unless ``build_requires`` names projects pip must install first: it does not use them)."""
    dist_name = canonicalize_name(name).replace("-", "_")
    base = f"{dist_name}-{version}"
    metadata = metadata_text(name, version)
    pyproject = (
        "[build-system]\n"
        f"requires = {json.dumps(list(build_requires))}\n"  # a TOML array too
        'build-backend = "backend"\n'
        'backend-path = ["_build"]\n'
        "\n"
        f'[project]\nname = "{name}"\nversion = "{version}"\n'
    )
    files = {
        f"{base}/PKG-INFO": metadata.encode(),
        f"{base}/pyproject.toml": pyproject.encode(),
        f"{base}/_build/backend.py": BACKEND.format(
            dist_name=dist_name, version=version, metadata=metadata
        ).encode(),
        f"{base}/{dist_name}/__init__.py": f'VERSION = {version!r}\nORIGIN = "sdist"\n'.encode(),
    }
    return Dist(f"{base}.tar.gz", tar_gz(files), name, version)
