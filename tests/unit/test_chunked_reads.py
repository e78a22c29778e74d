"""Blob downloads under waitress: bounded reads, each byte read from disk once."""
import io
import os

from waitress.buffers import ReadOnlyFileBasedBuffer

from shop.views.sending import CHUNK, ChunkedReads


class CountingFile(io.FileIO):
    """A real file that records how many bytes were read from it, and the largest read."""

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.bytes_read = 0
        self.largest = 0

    def read(self, size=-1):
        data = super().read(size)
        self.bytes_read += len(data)
        self.largest = max(self.largest, len(data))
        return data


def sent_through_waitress(path, send_sizes):
    """Drive waitress's own file_wrapper the way its channel does: get(SO_SNDBUF), send, skip."""
    f = CountingFile(path, "rb")
    buffer = ReadOnlyFileBasedBuffer(ChunkedReads(f), CHUNK)
    remain = buffer.prepare(os.path.getsize(path))
    out = bytearray()
    sizes = iter(send_sizes)
    while remain:
        chunk = buffer.get(4 * 1024 * 1024)  # what waitress asks for on a loopback socket
        sent = min(len(chunk), next(sizes, len(chunk)))  # a socket may take only part of it
        out += chunk[:sent]
        buffer.skip(sent, True)
        remain -= sent
    buffer.close()
    return bytes(out), f


def test_each_read_is_capped_and_every_byte_comes_from_disk_once(tmp_path):
    data = os.urandom(3 * CHUNK + 12345)
    path = tmp_path / "big.whl"
    path.write_bytes(data)

    out, f = sent_through_waitress(path, [])

    assert out == data
    assert f.largest == CHUNK
    assert f.bytes_read == len(data)
    assert f.closed


def test_partial_sends_resume_where_the_socket_stopped(tmp_path):
    data = os.urandom(2 * CHUNK + 7)
    path = tmp_path / "big.whl"
    path.write_bytes(data)

    out, f = sent_through_waitress(path, [1000, CHUNK, 1, CHUNK - 5])

    assert out == data
    assert f.largest <= CHUNK
