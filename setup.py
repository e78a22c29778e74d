from setuptools import find_namespace_packages, setup

with open("README.rst", encoding="utf-8") as f:
    README = f.read()

requires = [
    "argon2-cffi",
    "packaging>=26",  # core metadata 2.5 (Import-Name) parsed and validated; SPDX from 24.2
    # PEP 740 attestations: the models of PyPI's own implementation (maintained by PyPI's
    # admins with Trail of Bits), the checks of their statements, and sigstore's offline
    # verification of their signatures. 0.0.31: sigstore 4.5+ (Rekor v2 entries).
    "pypi-attestations>=0.0.31",
    "pypi-simple>=1.8",  # 1.8: a file's provenance URL (PEP 740) on upstream's pages
    # /+metrics: Prometheus's registry, counters and text format, written as Prometheus reads
    # them (and as OpenMetrics for a scraper that asks), rather than formatted by hand here.
    "prometheus_client>=0.20",
    "pyramid>=2.0",
    "pyramid_chameleon",
    "pyramid_retry",
    "pyramid_tm>=2.4",
    "pyramid_zodbconn",
    "python-multipart>=0.0.27",  # 0.0.27: limits on a part's headers
    "readme_renderer[md]",  # [md]: Markdown descriptions on the project pages
    "requests",
    "tqdm",  # the progress bars of long commands (check, copy) on a terminal
    "transaction",
    # 2.6 decompresses no more of a gzip-encoded answer than read() asks for (CVE-2025-66471):
    # the bound on upstream's .metadata files.
    "urllib3>=2.6",
    "waitress>=3",
    "ZODB>=6",
    "zodburi",
    "zope.interface",  # IProject, what project views are registered for (Pyramid's own dependency)
]

# Scale-out on PostgreSQL (`pip install localshop[postgresql]`, README "Several processes on
# PostgreSQL"): RelStorage, ZODB's own storage on a relational database (maintained by the ZODB
# developers; 4.1 is the first for Python 3.11+ wheels), and psycopg2, the driver RelStorage
# prefers and tests with. The -binary wheel: no compiler, libpq-dev or pg_config needed
# (the same `psycopg2` module; install plain psycopg2 instead to build it against the
# system's libpq).
postgresql_require = ["relstorage>=4.1", "psycopg2-binary>=2.9"]

tests_require = postgresql_require + [
    "build",
    "hypothesis",  # property-based tests at the trust boundaries (upload form, URLs)
    # `make test` checks the layering in .importlinter (acyclic_siblings and
    # exclude_type_checking_imports: 2.17 is known to have both).
    "import-linter>=2.17",
    "ZEO",
    "playwright",  # drives the system's Chromium (never its own browser downloads)
    "pytest",
    "pytest-timeout",
    "twine>=6.2",  # what users have: the suite sees its refusal of --skip-existing
    "uv",
    "WebTest",
]

setup(
    name="localshop",
    version="2.0.0.dev0",
    description="A private Python package index and caching mirror, on Pyramid and ZODB",
    long_description=README,
    long_description_content_type="text/x-rst",
    classifiers=[
        "Framework :: Pyramid",
        "Programming Language :: Python :: 3",
        "Topic :: Software Development :: Build Tools",
    ],
    python_requires=">=3.11",
    # shop/templates and shop/static hold no Python: setuptools counts them as (namespace)
    # packages all the same and warns, page after page, unless they are listed as such.
    packages=find_namespace_packages(include=["shop", "shop.*"]),
    # The project's directory itself is the package root: `pip install -e .` then puts it on
    # sys.path with a plain .pth file, as `setup.py develop` did, instead of an import hook
    # that setuptools announces with a warning on every install.
    package_dir={"": "."},
    include_package_data=True,
    package_data={"shop.templates": ["*.pt"], "shop.static": ["*"]},
    zip_safe=False,
    install_requires=requires,
    extras_require={"test": tests_require, "postgresql": postgresql_require},
    entry_points={
        "paste.app_factory": ["main = shop:main"],
        # The inis say `use = call:shop.accesslog:filter_factory` (no reinstall needed);
        # `use = egg:localshop#accesslog` names the same filter.
        "paste.filter_factory": ["accesslog = shop.accesslog:filter_factory"],
        "console_scripts": ["localshop = shop.scripts.cli:main"],
    },
)
