"""Server-side upload store and the streaming `/upload` route that fills it.

Why a route and not `dcc.Upload`: `dcc.Upload` reads the whole file into the
browser as base64 and sends it through every callback that reads it, and it
drops files over `max_size` silently. Here a small script (assets/upload.js)
POSTs the raw file to `/upload`; the route streams it to the store in 1 MB
chunks, enforces the size limit on the server, and answers with an
unguessable token. Callbacks then carry only that token.

The store is a directory that every gunicorn worker on the host shares; entries
expire after UPLOAD_TTL_MINUTES, and when a new upload would take the store past
UPLOAD_STORE_MAX_MB the least recently used entries make room for it. Anything with the `UploadStore` methods (for
example one backed by Redis, like Dash's background-callback managers) can
replace it on a multi-host deployment: change `get_store`.
"""
from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import tempfile
import time
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import unquote

from flask import Blueprint, jsonify, request
from werkzeug.exceptions import RequestEntityTooLarge

from dashboard.settings import MB, settings

log = logging.getLogger(__name__)

CHUNK = MB
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")  # secrets.token_urlsafe(32): 256 random bits
_NAME = re.compile(r"^[a-z0-9_.-]{1,64}$")
UPLOAD_FILE = "upload.csv"


class UploadTooLarge(ValueError):
    """The upload is bigger than the configured limit."""


class StoreFull(OSError):
    """The upload cannot fit in the store's disk allowance, even after evicting every other entry."""

    def __str__(self) -> str:
        return ("The server has no room for this file right now (its upload space, UPLOAD_STORE_MAX_MB, "
                "is full): try again in a few minutes, or upload a smaller file.")


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
    def create(self, stream: BinaryIO, *, limit: int, size_hint: int | None = None) -> str: ...
    def open_upload(self, token: str) -> BinaryIO: ...
    def write(self, token: str, name: str, data: bytes) -> None: ...
    def read(self, token: str, name: str) -> bytes | None: ...
    def purge_expired(self) -> int: ...


class DiskUploadStore:
    """One directory per upload under `root`, named by its token; shared by all workers on a host."""

    def __init__(self, root: Path, ttl_seconds: int, max_bytes: int):
        self.root = Path(root)
        self.ttl_seconds = ttl_seconds
        self.max_bytes = max_bytes

    def _dir(self, token: str) -> Path:
        if not isinstance(token, str) or not _TOKEN.match(token):
            raise UnknownUpload(token)
        entry = self.root / token
        if not entry.is_dir():
            raise UnknownUpload(token)
        return entry

    def create(self, stream: BinaryIO, *, limit: int, size_hint: int | None = None) -> str:
        """Store the stream; `size_hint` (the request's Content-Length) sizes the room made for it."""
        self.purge_expired()
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        room = self._make_room(min(size_hint, limit) if size_hint is not None else limit)
        token = secrets.token_urlsafe(32)
        staging = Path(tempfile.mkdtemp(prefix=".incoming-", dir=self.root))
        try:
            size = 0
            with open(staging / UPLOAD_FILE, "wb") as out:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    if size > limit:
                        raise UploadTooLarge(too_large_message(limit))
                    if size > room:  # more than the size hint promised, and no room for it
                        raise StoreFull()
                    out.write(chunk)
            os.replace(staging, self.root / token)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return token

    def open_upload(self, token: str) -> BinaryIO:
        entry = self._dir(token)
        os.utime(entry)  # in use: keep it from expiring
        return open(entry / UPLOAD_FILE, "rb")

    def write(self, token: str, name: str, data: bytes) -> None:
        if not _NAME.match(name):
            raise ValueError(f"bad store entry name {name!r}")
        entry = self._dir(token)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=entry)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, entry / name)  # atomic: another worker never reads half a file

    def read(self, token: str, name: str) -> bytes | None:
        if not _NAME.match(name):
            raise ValueError(f"bad store entry name {name!r}")
        entry = self._dir(token)
        try:
            return (entry / name).read_bytes()
        except FileNotFoundError:
            return None

    def _make_room(self, needed: int) -> int:
        """Evict least recently used entries until `needed` bytes fit; return the bytes now free."""
        if needed > self.max_bytes:
            raise StoreFull()  # could never fit: keep everyone else's uploads
        entries = []
        used = 0
        for entry in self.root.iterdir():
            try:
                size = sum(f.stat().st_size for f in entry.iterdir())
                used += size
                if not entry.name.startswith("."):  # uploads still streaming in are never evicted
                    entries.append((entry.stat().st_mtime, size, entry))
            except OSError:
                pass  # another worker removed it meanwhile, or it is not an entry
        for _, size, entry in sorted(entries, key=lambda e: e[0]):
            if used + needed <= self.max_bytes:
                break
            shutil.rmtree(entry, ignore_errors=True)
            used -= size
            log.info("upload store over %d bytes: evicted %s", self.max_bytes, entry.name[:6])
        if used + needed > self.max_bytes:
            raise StoreFull()
        return self.max_bytes - used

    def purge_expired(self) -> int:
        if not self.root.is_dir():
            return 0
        cutoff = time.time() - self.ttl_seconds
        removed = 0
        for entry in self.root.iterdir():
            try:
                if entry.stat().st_mtime < cutoff:
                    shutil.rmtree(entry, ignore_errors=True)
                    removed += 1
            except FileNotFoundError:
                pass  # another worker purged it first
        return removed


def get_store() -> UploadStore:
    config = settings()
    return DiskUploadStore(config.upload_dir, config.upload_ttl_seconds, config.upload_store_bytes)


routes = Blueprint("uploads", __name__)


def _too_large_response(size: int | None):
    return jsonify(error=too_large_message(settings().max_upload_bytes, size)), 413


@routes.post("/upload")
def upload():
    """Stream the request body (the raw CSV) into the store; answer {token, filename, bytes}."""
    limit = settings().max_upload_bytes
    size = request.content_length
    if size is not None and size > limit:
        return _too_large_response(size)
    filename = unquote(request.headers.get("X-Filename", "upload.csv"))[:200]
    try:
        token = get_store().create(request.stream, limit=limit, size_hint=size)
    except (UploadTooLarge, RequestEntityTooLarge):
        return _too_large_response(size)
    except StoreFull as full:
        return jsonify(error=str(full)), 507
    except OSError:
        log.exception("could not store an upload")
        return jsonify(error="The server could not store this file (disk full?). Try again later."), 507
    return jsonify(token=token, filename=filename, bytes=size)


def install(server) -> None:
    """Add the upload route and the server-side size limit to the Flask server."""
    server.config["MAX_CONTENT_LENGTH"] = settings().max_upload_bytes
    server.register_blueprint(routes)

    @server.errorhandler(413)
    def _entity_too_large(_error):
        return _too_large_response(request.content_length)
