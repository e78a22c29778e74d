"""Accepting uploads (the legacy API of twine, uv and ``setup.py upload``) into the tree.

An upload takes one path through these modules: ``receiving`` reads the request body into
its form fields and a file beside the blobs, hashed; ``forms`` reads the fields an upload
has; ``validation`` holds every check that may refuse it; ``publishing`` puts an upload that
passed them into the tree; ``uploads`` is the one way in, doing what the form's action asks.
Every refusal is an ``errors.UploadError`` that names the HTTP status to answer with.
"""
