"""Downloads: distribution files and their core metadata, streamed from committed blobs."""
from __future__ import annotations

from pyramid.response import FileIter, Response
from pyramid.view import view_config
from ZODB.blob import Blob

from ..permissions import Permission
from ..resources import CoreMetadata, ReleaseFile

READ = ("GET", "HEAD")
CHUNK = 256 * 1024


def blob_response(request, blob: Blob, *, sha256: str, size: int, content_type: str) -> Response:
    """Stream a committed blob with its length, a sha256 ETag and an immutable cache policy."""
    # Opened by path: the file stays readable after the request's connection is closed.
    f = open(blob.committed(), "rb")
    wrapper = request.environ.get("wsgi.file_wrapper")
    response = Response(
        app_iter=wrapper(f, CHUNK) if wrapper else FileIter(f, CHUNK),
        headerlist=[("Content-Type", content_type)],
        content_length=size,
    )
    response.etag = sha256
    response.cache_control = "public, max-age=31536000, immutable"
    response.conditional_response = True
    return response


@view_config(context=ReleaseFile, request_method=READ, permission=Permission.VIEW)
def download(context: ReleaseFile, request) -> Response:
    response = blob_response(
        request, context.blob, sha256=context.sha256, size=context.size,
        content_type="application/octet-stream",
    )
    response.last_modified = context.upload_time
    return response


@view_config(context=CoreMetadata, request_method=READ, permission=Permission.VIEW)
def core_metadata(context: CoreMetadata, request) -> Response:
    file = context.file
    return blob_response(
        request, file.core_metadata, sha256=file.core_metadata_sha256, size=file.core_metadata_size,
        content_type="text/plain; charset=utf-8",
    )
