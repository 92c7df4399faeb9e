"""The upload store and the /upload route, without a browser."""
import io
import os
import shutil
import subprocess
import sys
import threading
import time

import pytest

from dashboard.settings import MB
from dashboard.uploads import (
    BrokenUpload, DiskUploadStore, StoreFull, UnknownUpload, UnsafeUploadDir, UploadTooLarge,
)

from pagehelpers import SAMPLE


def entries(store) -> list[str]:
    """Uploads and staging directories in the store (not its lock file)."""
    return sorted(p.name for p in store.root.iterdir() if p.name != ".lock")


@pytest.fixture
def store(tmp_path):
    return DiskUploadStore(tmp_path / "store", ttl_seconds=60, max_bytes=100 * MB)


def test_up001_roundtrip_and_unguessable_tokens(store):
    tokens = {store.create(io.BytesIO(b"1,2,3"), limit=MB) for _ in range(20)}
    assert len(tokens) == 20 and all(len(t) == 43 for t in tokens)
    token = tokens.pop()
    with store.open_upload(token) as upload:
        assert upload.read() == b"1,2,3"
    store.write(token, "result.bin", b"xyz")
    assert store.read(token, "result.bin") == b"xyz"
    assert store.read(token, "other.bin") is None


@pytest.mark.parametrize("token", ["", "../../etc/passwd", "a" * 43 + "/..", "x" * 43, None])
def test_up002_bad_or_unknown_tokens_are_refused(store, token):
    store.create(io.BytesIO(b"x"), limit=MB)
    with pytest.raises(UnknownUpload) as error:
        store.open_upload(token)
    assert "upload the file again" in str(error.value)


def test_up003_limit_enforced_while_streaming(store):
    with pytest.raises(UploadTooLarge):
        store.create(io.BytesIO(b"x" * (2 * MB + 1)), limit=2 * MB)
    assert entries(store) == []  # nothing half-written is left behind


def test_up004_expired_entries_are_purged(store):
    old = store.create(io.BytesIO(b"old"), limit=MB)
    stale = time.time() - 3600
    os.utime(store.root / old, (stale, stale))
    fresh = store.create(io.BytesIO(b"new"), limit=MB)  # creating purges
    with pytest.raises(UnknownUpload):
        store.open_upload(old)
    assert store.open_upload(fresh).read() == b"new"


def test_up008_disk_cap_evicts_least_recently_used(tmp_path):
    store = DiskUploadStore(tmp_path / "store", ttl_seconds=3600, max_bytes=3000)
    tokens = []
    for age in (30, 20, 10):  # seconds ago: the first is the least recently used
        tokens.append(store.create(io.BytesIO(b"x" * 1000), limit=MB, size=1000))
        then = time.time() - age
        os.utime(store.root / tokens[-1], (then, then))
    store.open_upload(tokens[0]).close()  # reading an upload marks it used: now tokens[1] is the oldest
    newest = store.create(io.BytesIO(b"y" * 1000), limit=MB, size=1000)
    with pytest.raises(UnknownUpload):
        store.open_upload(tokens[1])
    for token in (tokens[0], tokens[2], newest):
        store.open_upload(token).close()
    assert sum(f.stat().st_size for f in store.root.rglob("*") if f.is_file()) <= 3000


def test_up009_upload_bigger_than_the_store_is_refused(tmp_path):
    store = DiskUploadStore(tmp_path / "store", ttl_seconds=3600, max_bytes=3000)
    kept = store.create(io.BytesIO(b"x" * 1000), limit=MB, size=1000)
    with pytest.raises(StoreFull) as error:
        store.create(io.BytesIO(b"y" * 5000), limit=MB, size=5000)
    assert "try again" in str(error.value)
    # A body longer than its Content-Length is stopped while streaming.
    with pytest.raises(BrokenUpload):
        store.create(io.BytesIO(b"z" * 5000), limit=MB, size=10)
    assert entries(store) == [kept]  # nothing half-written is left behind


FROM_PAGE = {"X-Requested-With": "dashboard-upload"}  # what assets/upload.js sends


@pytest.fixture
def client():
    from dashboard.app import server  # the route needs no model bundle

    return server.test_client()


def test_up005_route_returns_a_token(client):
    response = client.post("/upload", data=SAMPLE.read_bytes(), headers={**FROM_PAGE, "X-Filename": "my%20beats.csv"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["filename"] == "my beats.csv" and len(body["token"]) == 43


def test_up006_route_refuses_too_large(client, monkeypatch):
    monkeypatch.setenv("UPLOAD_MAX_MB", "0.01")
    response = client.post("/upload", data=b"0" * 20_000, headers=FROM_PAGE)
    assert response.status_code == 413
    assert "the limit is" in response.get_json()["error"]

    # no Content-Length (a chunked request): the limit is enforced while streaming
    response = client.post("/upload", input_stream=io.BytesIO(b"0" * 20_000),
                           headers={**FROM_PAGE, "Transfer-Encoding": "chunked"},
                           environ_overrides={"wsgi.input_terminated": True})
    assert response.status_code == 413


def test_up010_route_answers_507_when_the_store_is_full(client, monkeypatch, tmp_path):
    monkeypatch.setenv("UPLOAD_DIR", str(tmp_path / "store"))
    monkeypatch.setenv("UPLOAD_STORE_MAX_MB", "0.01")
    response = client.post("/upload", data=b"0" * 20_000, headers=FROM_PAGE)
    assert response.status_code == 507
    assert "UPLOAD_STORE_MAX_MB" in response.get_json()["error"]
    assert client.get("/healthz").status_code == 200  # and the server keeps serving


def test_up007_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json()["status"] == "ok"


class SlowStream(io.RawIOBase):
    """A body that sends `first` bytes, then waits for `go` before sending the rest."""

    def __init__(self, first: bytes, rest: bytes):
        self.parts, self.go, self.waiting = [first, rest], threading.Event(), threading.Event()

    def read(self, size=-1):
        if len(self.parts) == 1:
            self.waiting.set()
            assert self.go.wait(10)
        return self.parts.pop(0) if self.parts else b""


def create_in_background(store, stream, size):
    result = {}

    def run():
        try:
            result["token"] = store.create(stream, limit=MB, size=size)
        except Exception as error:  # handed to the test
            result["error"] = error

    thread = threading.Thread(target=run)
    thread.start()
    assert stream.waiting.wait(10)
    return thread, result


def test_up011_uploads_in_progress_hold_their_space(tmp_path):
    store = DiskUploadStore(tmp_path / "store", ttl_seconds=3600, max_bytes=100_000)
    stream = SlowStream(b"x" * 10_000, b"x" * 50_000)
    thread, first = create_in_background(store, stream, 60_000)
    with pytest.raises(StoreFull):  # 60 KB more cannot fit beside the 60 KB still streaming in
        store.create(io.BytesIO(b"y" * 60_000), limit=MB, size=60_000)
    store.create(io.BytesIO(b"z" * 30_000), limit=MB, size=30_000)  # what does fit still goes through
    stream.go.set()
    thread.join(10)
    assert store.open_upload(first["token"]).read() == b"x" * 60_000


def test_up012_small_and_chunked_uploads_evict_only_what_they_need(tmp_path):
    store = DiskUploadStore(tmp_path / "store", ttl_seconds=3600, max_bytes=3 * MB)
    kept = [store.create(io.BytesIO(b"x" * MB), limit=2 * MB, size=MB) for _ in range(2)]
    store.create(io.BytesIO(b"s" * 235_000), limit=2 * MB)  # no Content-Length: a chunked request
    store.create(io.BytesIO(b"s" * 235_000), limit=2 * MB, size=235_000)
    for token in kept:
        store.open_upload(token).close()


def test_up013_cut_off_and_empty_bodies_are_refused(store):
    with pytest.raises(BrokenUpload) as error:
        store.create(io.BytesIO(b"x" * 100_000), limit=MB, size=235_000)
    assert "100,000 of 235,000" in str(error.value)
    for size in (0, None):
        with pytest.raises(BrokenUpload) as error:
            store.create(io.BytesIO(b""), limit=MB, size=size)
        assert "empty" in str(error.value)
    assert entries(store) == []


def test_up014_staging_of_a_killed_worker_is_cleaned(tmp_path):
    store = DiskUploadStore(tmp_path / "store", ttl_seconds=3600, max_bytes=100_000)
    store.create(io.BytesIO(b"x"), limit=MB)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    staging = store.root / ".incoming-killed"
    staging.mkdir()
    (staging / "upload.csv").write_bytes(b"x" * 80_000)
    (staging / ".reservation").write_text(f"{dead.pid} 90000")
    store.create(io.BytesIO(b"y" * 60_000), limit=MB, size=60_000)
    assert not staging.exists()


def test_up015_reading_results_keeps_an_upload_alive(store):
    token = store.create(io.BytesIO(b"x"), limit=MB)
    store.write(token, "beats.npz", b"cached")
    stale = time.time() - 3600
    os.utime(store.root / token, (stale, stale))
    assert store.read(token, "beats.npz") == b"cached"
    store.purge_expired()
    assert store.read(token, "beats.npz") == b"cached"


def test_up016_an_upload_streaming_past_the_ttl_is_kept(tmp_path):
    store = DiskUploadStore(tmp_path / "store", ttl_seconds=1, max_bytes=MB)
    stream = SlowStream(b"x" * 1000, b"x" * 1000)
    thread, result = create_in_background(store, stream, 2000)
    stale = time.time() - 3600
    for entry in store.root.glob(".incoming-*"):
        os.utime(entry, (stale, stale))
    store.purge_expired()
    stream.go.set()
    thread.join(10)
    assert "error" not in result, result
    assert store.open_upload(result["token"]).read() == b"x" * 2000


@pytest.mark.parametrize("make", ["open-to-all", "symlink", "other-owner"])
def test_up017_an_unsafe_upload_dir_is_refused(tmp_path, make):
    root = tmp_path / "store"
    if make == "open-to-all":
        root.mkdir()
        root.chmod(0o777)
    elif make == "symlink":
        (tmp_path / "elsewhere").mkdir(mode=0o700)
        root.symlink_to(tmp_path / "elsewhere")
    else:
        if os.geteuid() != 0:
            pytest.skip("needs root to make a directory of another user")
        root.mkdir(mode=0o700)
        os.chown(root, 65534, 65534)
    with pytest.raises(UnsafeUploadDir) as error:
        DiskUploadStore(root, ttl_seconds=60, max_bytes=MB).create(io.BytesIO(b"x"), limit=MB)
    assert "UPLOAD_DIR" in str(error.value)


def test_up018_planted_symlinks_are_not_followed(store, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("not yours")
    token = store.create(io.BytesIO(b"x"), limit=MB)
    (store.root / token / "upload.csv").unlink()
    (store.root / token / "upload.csv").symlink_to(secret)
    with pytest.raises(OSError):
        store.open_upload(token)
    planted = "p" * 43
    (store.root / planted).symlink_to(store.root / token)
    with pytest.raises(UnknownUpload):
        store.read(planted, "beats.npz")


def test_up019_healthz_is_503_for_a_bundle_that_fails_verification(client, bundle, tmp_path, monkeypatch):
    from dashboard.settings import settings

    copy = tmp_path / "models"
    shutil.copytree(settings().models_dir, copy)
    monkeypatch.setenv("MODELS_DIR", str(copy))
    assert client.get("/healthz").status_code == 200
    with open(copy / "report.json", "a") as report:
        report.write(" ")  # one byte more: the manifest's hash no longer matches
    response = client.get("/healthz")
    assert response.status_code == 503 and response.get_json()["bundle_ok"] is False
    assert str(copy) not in response.get_data(as_text=True)  # the reason goes to the log, not to clients
