"""Running the real clients (pip, uv, twine, setup.py) as subprocesses, walled off from the
machine's own configuration so that only the localshop under test can answer them."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

BIN = Path(sys.executable).parent
PYTHON = sys.executable
TWINE = str(BIN / "twine")
UV = str(BIN / "uv")
LOCALSHOP = str(BIN / "localshop")

# This machine configures pip globally (extra indexes, find-links, constraints) and may set
# uv's and twine's options in the environment: none of that may leak into a test.
SCRUBBED_PREFIXES = ("PIP_", "UV_", "TWINE_", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "CONDA_")


@dataclass
class Result:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        """What the command printed on both streams (the tests look for messages in either)."""
        return self.stdout + self.stderr

    def __str__(self) -> str:
        return (f"$ {' '.join(self.args)}\n(exit {self.returncode})\n"
                f"--- stdout ---\n{self.stdout}--- stderr ---\n{self.stderr}")


def words(text: str) -> str:
    """``text`` with every run of white space made one space (clients wrap long messages)."""
    return " ".join(text.split())


def client_env(home: Path, **extra: str) -> dict[str, str]:
    """An environment without PIP_*/UV_*/TWINE_* variables and with HOME in a test directory
    (so no ~/.pypirc, ~/.netrc, ~/.config/pip or keyring of the machine's user is read)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(SCRUBBED_PREFIXES)}
    home.mkdir(parents=True, exist_ok=True)
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_DATA_HOME=str(home / ".local" / "share"),
        # twine asks keyring only when it lacks a password; keep it from probing D-Bus.
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
        NO_COLOR="1",
        # Wide enough that rich (twine's output) does not wrap the messages tests look for.
        COLUMNS="250",
    )
    env.update(extra)
    return env


def run(args, *, env: dict[str, str], cwd: Path | None = None, input: str | None = None,
        expect: int | None = 0, timeout: float = 180) -> Result:
    """Run a command; with ``expect`` set, fail the test (showing the output) on another exit code."""
    args = [str(a) for a in args]
    completed = subprocess.run(
        args, cwd=cwd, env=env, input=input, text=True, timeout=timeout,
        capture_output=True, stdin=None if input is not None else subprocess.DEVNULL,
    )
    result = Result(args, completed.returncode, completed.stdout, completed.stderr)
    if expect is not None and result.returncode != expect:
        raise AssertionError(f"expected exit {expect}:\n{result}")
    return result


# --- virtual environments -------------------------------------------------------------------


def make_venv(path: Path, *, with_pip: bool = False) -> Path:
    """A fresh virtual environment; returns its python.

    ``with_pip`` runs ensurepip (offline: the pip and setuptools bundled with Python), which
    also gives the environment a setuptools to build sdists with ``--no-build-isolation``.
    """
    args = [PYTHON, "-m", "venv", path] + ([] if with_pip else ["--without-pip"])
    run(args, env=client_env(path.parent / "home"))
    return path / "bin" / "python"


def installed_module(python: Path, module: str, env: dict[str, str]) -> str:
    """``"<VERSION> <ORIGIN>"`` of ``module`` as the environment of ``python`` imports it;
    ORIGIN is "sdist" for packages built from tests.e2e.projects' sdists, else "wheel"."""
    code = f"import {module} as m; print(m.VERSION, getattr(m, 'ORIGIN', 'wheel'))"
    return run([python, "-c", code], env=env).output.strip()


# --- installers -----------------------------------------------------------------------------


def pip_install(python: Path, index_url: str, *requirements: str, env: dict[str, str],
                options: tuple[str, ...] = (), expect: int | None = 0) -> Result:
    """The environment's own pip, isolated from every pip configuration, from ``index_url`` only."""
    return run(
        [python, "-m", "pip", "--isolated", "--disable-pip-version-check", "install",
         "--no-cache-dir", "--index-url", index_url, *options, *requirements],
        env=env, expect=expect,
    )


def modern_pip_install(target_python: Path, index_url: str, *requirements: str,
                       env: dict[str, str], expect: int | None = 0) -> Result:
    """The test run's own (current) pip installing into another environment (``--python``)."""
    return run(
        [PYTHON, "-m", "pip", "--isolated", "--disable-pip-version-check",
         "--python", target_python, "install", "--no-cache-dir", "--index-url", index_url,
         *requirements],
        env=env, expect=expect,
    )


def uv_install(target_python: Path, index_url: str, *requirements: str, env: dict[str, str],
               cache_dir: Path, options: tuple[str, ...] = (), expect: int | None = 0) -> Result:
    """``uv pip install`` ignoring every uv configuration, from ``index_url`` only."""
    return run(
        [UV, "pip", "install", "--no-config", "--cache-dir", cache_dir, "--python", target_python,
         "--index-url", index_url, *options, *requirements],
        env=env, expect=expect,
    )


# --- uploaders ------------------------------------------------------------------------------


def twine_upload(files, *args: str, env: dict[str, str], twine: str = TWINE,
                 expect: int | None = 0) -> Result:
    """``twine upload ARGS FILES``, never prompting."""
    return run([twine, "--no-color", "upload", "--non-interactive", "--disable-progress-bar", *args,
                *files],
               env=env, expect=expect)


def write_pypirc(path: Path, repository: str, username: str, password: str) -> Path:
    """A .pypirc as localshop's documentation shows it, with one index server ``local``."""
    path.write_text(
        "[distutils]\n"
        "index-servers =\n"
        "    local\n"
        "\n"
        "[local]\n"
        f"username: {username}\n"
        f"password: {password}\n"
        f"repository: {repository}\n"
    )
    return path


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
