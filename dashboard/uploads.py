"""Server-side upload store and the streaming `/upload` route that fills it.

Why a route and not `dcc.Upload`: `dcc.Upload` reads the whole file into the
browser as base64 and sends it through every callback that reads it, and it
drops files over `max_size` silently. Here a small script (assets/upload.js)
POSTs the raw file to `/upload`; the route streams it to the store in 1 MB
chunks, enforces the size limit on the server, and answers with an
unguessable token. Callbacks then carry only that token.

The disk store is a directory that every gunicorn worker on the host shares;
entries expire UPLOAD_TTL_MINUTES after they were last used. Space is reserved
under a lock before an upload streams in (its Content-Length, or step by step as
a chunked body arrives), counting uploads still in progress, and the least
recently used entries make room when the store would pass UPLOAD_STORE_MAX_MB.
On several hosts set UPLOAD_STORE_URL=redis://... for the Redis store
(dashboard/redis_store.py), which keeps the same `UploadStore` interface.
"""
from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import secrets
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import unquote

from flask import Blueprint, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from dashboard.settings import MB, settings
from pipeline.validate import FORMAT_HINT

log = logging.getLogger(__name__)

CHUNK = MB
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")  # secrets.token_urlsafe(32): 256 random bits
_NAME = re.compile(r"^[a-z0-9_.-]{1,64}$")
UPLOAD_FILE = "upload.csv"
STAGING = ".incoming-"
RESERVATION = ".reservation"  # in a staging directory: "<owner pid> <bytes reserved>"
MAX_FILENAME = 200
# assets/upload.js sends it; a cross-site form or a "simple" cross-origin request cannot (a custom header
# needs a CORS preflight, which this app never grants).
UPLOAD_HEADER = ("X-Requested-With", "dashboard-upload")


class UploadTooLarge(ValueError):
    """The upload is bigger than the configured limit."""


EMPTY_FILE = f"The file is empty: upload a CSV with one beat per row ({FORMAT_HINT})."  # the validator's words


class BrokenUpload(ValueError):
    """The request body is empty, malformed, or ended before its Content-Length; str() says what to do."""


class StoreFull(OSError):
    """The upload cannot fit in the store's disk allowance, even after evicting every other entry."""

    def __str__(self) -> str:
        return ("The server has no room for this file right now (its upload space, UPLOAD_STORE_MAX_MB, "
                "is full): try again in a few minutes, or upload a smaller file.")


class UnsafeUploadDir(RuntimeError):
    """UPLOAD_DIR exists but other users could read or replace what is in it."""


class UnknownUpload(KeyError):
    """The token names no upload: it expired, or never existed."""

    def __str__(self) -> str:
        return "This upload has expired or was never stored: upload the file again."


def too_large_message(limit: int, size: int | None = None) -> str:
    got = f"This file is {size / MB:.1f} MB; " if size else "This file is too large; "
    return (
        f"{got}the limit is {limit / MB:.0f} MB. Upload a smaller file (split it by rows), "
        "or ask whoever runs the dashboard to raise UPLOAD_MAX_MB."
    )


class UploadStore(Protocol):
    def create(self, stream: BinaryIO, *, limit: int, size: int | None = None) -> str: ...
    def open_upload(self, token: str) -> BinaryIO: ...
    def write(self, token: str, name: str, data: bytes) -> None: ...
    def read(self, token: str, name: str) -> bytes | None: ...
    def purge_expired(self) -> int: ...


def read_body(stream: BinaryIO, *, limit: int, size: int | None, reserve) -> Iterator[bytes]:
    """Check a body's size as it streams: yield its chunks, calling `reserve(total)` before holding more bytes.

    The rules every store shares: nothing over `limit`, nothing empty, and a body that stops before its
    Content-Length (`size`) is broken, not complete.
    """
    if size is not None and size > limit:
        raise UploadTooLarge(too_large_message(limit, size))
    if size == 0:
        raise BrokenUpload(EMPTY_FILE)
    reserved = reserve(size) if size is not None else 0
    received = 0
    while chunk := stream.read(CHUNK):
        received += len(chunk)
        if received > limit:
            raise UploadTooLarge(too_large_message(limit))
        if received > reserved:
            if size is not None:  # more than the Content-Length promised
                raise BrokenUpload("The upload sent more bytes than its Content-Length: upload the file again.")
            reserved = reserve(received)  # a chunked body reserves what has arrived, chunk by chunk
        yield chunk
    if size is not None and received < size:
        raise BrokenUpload(
            f"The upload broke off after {received:,} of {size:,} bytes: check the connection and upload it again."
        )
    if received == 0:
        raise BrokenUpload(EMPTY_FILE)


def _owner_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class DiskUploadStore:
    """One directory per upload under `root`, named by its token; shared by all workers on a host."""

    def __init__(self, root: Path, ttl_seconds: int, max_bytes: int):
        self.root = Path(root)
        self.ttl_seconds = ttl_seconds
        self.max_bytes = max_bytes

    def check_root(self) -> None:
        """Create `root` (0700), or refuse one that is a symlink, not ours, or open to other users."""
        try:
            self.root.mkdir(parents=True, mode=0o700)
        except FileExistsError:
            pass
        info = os.lstat(self.root)
        problem = None
        if stat.S_ISLNK(info.st_mode):
            problem = "is a symbolic link"
        elif not stat.S_ISDIR(info.st_mode):
            problem = "is not a directory"
        elif info.st_uid != os.geteuid():
            problem = f"belongs to another user (uid {info.st_uid})"
        elif info.st_mode & 0o077:
            problem = f"has mode {stat.S_IMODE(info.st_mode):04o}, so other users can list or replace uploads"
        if problem:
            raise UnsafeUploadDir(
                f"UPLOAD_DIR {self.root} {problem}: point UPLOAD_DIR at a new path, or make it a directory of "
                "this user with `chmod 700`."
            )

    def _dir(self, token: str) -> Path:
        if not isinstance(token, str) or not _TOKEN.match(token):
            raise UnknownUpload(token)
        entry = self.root / token
        try:
            if not stat.S_ISDIR(os.lstat(entry).st_mode):  # lstat: a planted symlink is not an entry
                raise UnknownUpload(token)
        except FileNotFoundError:
            raise UnknownUpload(token) from None
        return entry

    @staticmethod
    def _touch(entry: Path) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.utime(entry)  # in use: keep it from expiring

    @staticmethod
    def _open(path: Path, flags: int) -> int:
        return os.open(path, flags | os.O_NOFOLLOW, 0o600)

    @contextlib.contextmanager
    def _locked(self):
        """Serialise reservations between the workers (processes) sharing the store."""
        fd = self._open(self.root / ".lock", os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _staging_info(self, entry: Path) -> tuple[int, int] | None:
        """(owner pid, bytes reserved) of a staging directory; None once it is gone or was never reserved."""
        try:
            pid, reserved = (entry / RESERVATION).read_text().split()
            return int(pid), int(reserved)
        except (OSError, ValueError):
            return None

    def _reserve(self, staging: Path, total: int) -> int:
        """Reserve `total` bytes for `staging`, evicting least recently used uploads; return `total`."""
        if total > self.max_bytes:
            raise StoreFull()  # could never fit: keep everyone else's uploads
        with self._locked():
            finished, used = [], 0
            for entry in self.root.iterdir():
                if entry == staging or not entry.is_dir():
                    continue
                try:
                    size = sum(f.stat().st_size for f in entry.iterdir())
                    if entry.name.startswith(STAGING):
                        info = self._staging_info(entry)
                        if info is not None and not _owner_alive(info[0]):
                            shutil.rmtree(entry, ignore_errors=True)  # left by a killed worker
                            log.info("upload store: removed a staging directory of dead process %d", info[0])
                            continue
                        used += max(size, info[1] if info else 0)  # in progress: count what it may still take
                    else:
                        used += size
                        finished.append((entry.stat().st_mtime, size, entry))
                except OSError:
                    pass  # another worker removed it meanwhile
            for _, size, entry in sorted(finished, key=lambda e: e[0]):
                if used + total <= self.max_bytes:
                    break
                shutil.rmtree(entry, ignore_errors=True)
                used -= size
                log.info("upload store over %d bytes: evicted %s", self.max_bytes, entry.name[:6])
            if used + total > self.max_bytes:
                raise StoreFull()
            fd = self._open(staging / ".tmp-reservation", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            with os.fdopen(fd, "w") as out:
                out.write(f"{os.getpid()} {total}")
            os.replace(staging / ".tmp-reservation", staging / RESERVATION)
        return total

    def create(self, stream: BinaryIO, *, limit: int, size: int | None = None) -> str:
        """Store the stream; `size` (the request's Content-Length) is reserved at once and must all arrive."""
        self.check_root()
        self.purge_expired()
        staging = Path(tempfile.mkdtemp(prefix=STAGING, dir=self.root))
        token = secrets.token_urlsafe(32)
        try:
            fd = self._open(staging / UPLOAD_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
            with os.fdopen(fd, "wb") as out:
                for chunk in read_body(stream, limit=limit, size=size,
                                       reserve=lambda total: self._reserve(staging, total)):
                    out.write(chunk)
            os.unlink(staging / RESERVATION)
            os.replace(staging, self.root / token)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return token

    def open_upload(self, token: str) -> BinaryIO:
        entry = self._dir(token)
        self._touch(entry)
        try:
            return os.fdopen(self._open(entry / UPLOAD_FILE, os.O_RDONLY), "rb")
        except FileNotFoundError:
            raise UnknownUpload(token) from None

    def write(self, token: str, name: str, data: bytes) -> None:
        if not _NAME.match(name):
            raise ValueError(f"bad store entry name {name!r}")
        entry = self._dir(token)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=entry)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, entry / name)  # atomic: another worker never reads half a file
        self._touch(entry)

    def read(self, token: str, name: str) -> bytes | None:
        if not _NAME.match(name):
            raise ValueError(f"bad store entry name {name!r}")
        entry = self._dir(token)
        self._touch(entry)  # reading cached results is using the upload
        try:
            with os.fdopen(self._open(entry / name, os.O_RDONLY), "rb") as cached:
                return cached.read()
        except FileNotFoundError:
            return None

    def purge_expired(self) -> int:
        if not self.root.is_dir():
            return 0
        cutoff = time.time() - self.ttl_seconds
        removed = 0
        for entry in self.root.iterdir():
            try:
                if entry.name.startswith(STAGING):
                    # Still streaming in, however long it takes, while its owner lives.
                    info = self._staging_info(entry)
                    expired = info is not None and not _owner_alive(info[0])
                else:
                    expired = entry.is_dir() and entry.stat().st_mtime < cutoff
                if expired:
                    shutil.rmtree(entry, ignore_errors=True)
                    removed += 1
            except FileNotFoundError:
                pass  # another worker purged it first
        return removed


def get_store() -> UploadStore:
    config = settings()
    if config.upload_store_url:
        from dashboard.redis_store import RedisUploadStore

        return RedisUploadStore.from_url(config.upload_store_url, config.upload_ttl_seconds,
                                         config.upload_store_bytes)
    return DiskUploadStore(config.upload_dir, config.upload_ttl_seconds, config.upload_store_bytes)


routes = Blueprint("uploads", __name__)


def _too_large_response(size: int | None):
    return jsonify(error=too_large_message(settings().max_upload_bytes, size)), 413


class _ClientBody:
    """The request body, where a read that fails because of what the client sent raises BrokenUpload (400)."""

    def __init__(self, stream: BinaryIO):
        self.stream = stream

    def read(self, size: int) -> bytes:
        try:
            return self.stream.read(size)
        except RequestEntityTooLarge:
            raise
        except Exception as error:  # gunicorn's ParseException or NoMoreData, werkzeug's ClientDisconnected
            raise BrokenUpload(
                "The upload arrived malformed or broke off (bad chunked encoding?): upload the file again."
            ) from error


@routes.post("/upload")
def upload():
    """Stream the request body (the raw CSV) into the store; answer {token, filename, bytes}."""
    if request.headers.get(UPLOAD_HEADER[0]) != UPLOAD_HEADER[1]:
        return jsonify(error="Upload files from the dashboard's Predict page."), 403
    limit = settings().max_upload_bytes
    request.max_content_length = limit  # this route only: every other one keeps the app's 1 MB
    size = request.content_length
    if size is not None and size > limit:
        return _too_large_response(size)
    filename = unquote(request.headers.get("X-Filename", "upload.csv"))[:MAX_FILENAME]
    try:
        token = get_store().create(_ClientBody(request.stream), limit=limit, size=size)
    except (UploadTooLarge, RequestEntityTooLarge):
        return _too_large_response(size)
    except BrokenUpload as broken:
        log.info("refused upload %r: %s", filename, broken)
        return jsonify(error=f"{filename}: {broken}"), 400
    except StoreFull as full:
        return jsonify(error=str(full)), 507
    except OSError:
        log.exception("could not store upload %r", filename)
        return jsonify(error="The server could not store this file (disk full?). Try again later."), 507
    return jsonify(token=token, filename=filename, bytes=size)


def install(server) -> None:
    """Add the upload route to the Flask server and check the upload store's directory."""
    server.register_blueprint(routes)
    if not settings().upload_store_url:
        DiskUploadStore(settings().upload_dir, 0, 0).check_root()  # a worker with an unsafe UPLOAD_DIR stops here

    @server.errorhandler(413)
    def _entity_too_large(_error):
        if request.path.endswith("/upload"):
            return _too_large_response(request.content_length)
        return jsonify(error="This request is too large for the dashboard (1 MB outside file uploads)."), 413
