"""Receiving an upload: every digest of the bytes, whatever the size of the chunks."""
import hashlib
import os

import pytest

from shop.hosting.receiving import FileSink, ReceiveError


@pytest.mark.parametrize("sizes", [[100, 2000], [1 << 20, 1 << 20, 5, 300_000]], ids=["small", "large"])
def test_the_file_and_its_digests_match_the_bytes_received(tmp_path, sizes):
    chunks = [os.urandom(n) for n in sizes]
    sink = FileSink("demo-1.0.tar.gz", str(tmp_path), max_size=10 << 20)
    for chunk in chunks:
        sink.write(chunk)
    received = sink.finish()

    data = b"".join(chunks)
    with open(received.path, "rb") as f:
        assert f.read() == data
    assert received.size == len(data)
    assert received.hashes == {
        "md5": hashlib.md5(data).hexdigest(),
        "sha256": hashlib.sha256(data).hexdigest(),
        "blake2_256": hashlib.blake2b(data, digest_size=32).hexdigest(),
    }


def test_a_file_over_the_limit_is_refused_and_leaves_nothing(tmp_path):
    sink = FileSink("demo-1.0.tar.gz", str(tmp_path), max_size=1 << 20)
    sink.write(os.urandom(1 << 20))
    with pytest.raises(ReceiveError) as refused:
        sink.write(b"x")
    sink.abort()
    assert refused.value.status == 413
    assert list(tmp_path.iterdir()) == []
