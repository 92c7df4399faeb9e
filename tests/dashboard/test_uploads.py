"""The upload stores (disk, and Redis against a real redis-server) and the /upload route, without a browser."""
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


# The store tests run against both stores; these helpers reach into each one's own bookkeeping.

def entries(store) -> list[str]:
    """Uploads and uploads in progress (disk: directories, not the lock file; Redis: their keys)."""
    if isinstance(store, DiskUploadStore):
        return sorted(p.name for p in store.root.iterdir() if p.name != ".lock")
    keys = [k.decode() for k in store.redis.keys(store.prefix + "*")]
    return sorted(k.split(":")[-1] for k in keys if k.startswith((store.prefix + "file:", store.prefix + "incoming:")))


def age(store, token: str, seconds: float) -> None:
    """Make an upload look last used `seconds` ago."""
    if isinstance(store, DiskUploadStore):
        then = time.time() - seconds
        os.utime(store.root / token, (then, then))
        return
    store.redis.zadd(store.prefix + "lru", {token: time.time() - seconds})
    left = store.ttl_seconds - seconds
    for key in (f"{store.prefix}file:{token}", f"{store.prefix}data:{token}"):
        if left > 0:
            store.redis.expire(key, int(left))
        else:
            store.redis.delete(key)  # what Redis does when the TTL runs out


def life_left(store, token: str) -> float:
    if isinstance(store, DiskUploadStore):
        return store.ttl_seconds - (time.time() - (store.root / token).stat().st_mtime)
    return store.redis.ttl(f"{store.prefix}file:{token}")


def leave_dead_staging(store, reserved: int):
    """What a worker killed mid-upload leaves behind; returns a check that it is gone."""
    if isinstance(store, DiskUploadStore):
        dead = subprocess.Popen([sys.executable, "-c", "pass"])
        dead.wait()
        staging = store.root / ".incoming-killed"
        staging.mkdir()
        (staging / "upload.csv").write_bytes(b"x" * (reserved - 10_000))
        (staging / ".reservation").write_text(f"{dead.pid} {reserved}")
        return lambda: not staging.exists()
    # Its staging key expired when it stopped sending; its reservation is still counted.
    store.redis.hset(store.prefix + "reserved", "killed", reserved)
    return lambda: not store.redis.hexists(store.prefix + "reserved", "killed")


@pytest.fixture(params=["disk", "redis"])
def make_store(request, tmp_path):
    if request.param == "disk":
        return lambda ttl_seconds, max_bytes: DiskUploadStore(tmp_path / "store", ttl_seconds, max_bytes)
    import redis

    from dashboard.redis_store import RedisUploadStore

    client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
    client.flushdb()
    return lambda ttl_seconds, max_bytes: RedisUploadStore(client, ttl_seconds, max_bytes)


@pytest.fixture
def store(make_store):
    return make_store(ttl_seconds=60, max_bytes=100 * MB)


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
    age(store, old, 3600)
    fresh = store.create(io.BytesIO(b"new"), limit=MB)  # creating purges
    with pytest.raises(UnknownUpload):
        store.open_upload(old)
    assert store.open_upload(fresh).read() == b"new"


def test_up008_disk_cap_evicts_least_recently_used(make_store):
    store = make_store(ttl_seconds=3600, max_bytes=3000)
    tokens = []
    for seconds in (30, 20, 10):  # ago: the first is the least recently used
        tokens.append(store.create(io.BytesIO(b"x" * 1000), limit=MB, size=1000))
        age(store, tokens[-1], seconds)
    store.open_upload(tokens[0]).close()  # reading an upload marks it used: now tokens[1] is the oldest
    newest = store.create(io.BytesIO(b"y" * 1000), limit=MB, size=1000)
    with pytest.raises(UnknownUpload):
        store.open_upload(tokens[1])
    for token in (tokens[0], tokens[2], newest):
        store.open_upload(token).close()
    assert len(entries(store)) == 3


def test_up009_upload_bigger_than_the_store_is_refused(make_store):
    store = make_store(ttl_seconds=3600, max_bytes=3000)
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


def test_up011_uploads_in_progress_hold_their_space(make_store):
    store = make_store(ttl_seconds=3600, max_bytes=100_000)
    stream = SlowStream(b"x" * 10_000, b"x" * 50_000)
    thread, first = create_in_background(store, stream, 60_000)
    with pytest.raises(StoreFull):  # 60 KB more cannot fit beside the 60 KB still streaming in
        store.create(io.BytesIO(b"y" * 60_000), limit=MB, size=60_000)
    store.create(io.BytesIO(b"z" * 30_000), limit=MB, size=30_000)  # what does fit still goes through
    stream.go.set()
    thread.join(10)
    assert store.open_upload(first["token"]).read() == b"x" * 60_000


def test_up012_small_and_chunked_uploads_evict_only_what_they_need(make_store):
    store = make_store(ttl_seconds=3600, max_bytes=3 * MB)
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


def test_up014_staging_of_a_killed_worker_is_cleaned(make_store):
    store = make_store(ttl_seconds=3600, max_bytes=100_000)
    kept = store.create(io.BytesIO(b"x"), limit=MB)
    cleaned = leave_dead_staging(store, 90_000)
    store.create(io.BytesIO(b"y" * 60_000), limit=MB, size=60_000)
    assert cleaned()
    store.open_upload(kept).close()


def test_up015_reading_results_keeps_an_upload_alive(store):
    token = store.create(io.BytesIO(b"x"), limit=MB)
    store.write(token, "beats.npz", b"cached")
    age(store, token, store.ttl_seconds - 5)
    assert store.read(token, "beats.npz") == b"cached"
    assert life_left(store, token) > store.ttl_seconds - 5


def test_up016_an_upload_streaming_past_the_ttl_is_kept(make_store):
    store = make_store(ttl_seconds=1, max_bytes=MB)
    stream = SlowStream(b"x" * 1000, b"x" * 1000)
    thread, result = create_in_background(store, stream, 2000)
    stale = time.time() - 3600
    for entry in store.root.glob(".incoming-*") if isinstance(store, DiskUploadStore) else ():
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


def test_up018_planted_symlinks_are_not_followed(tmp_path):
    store = DiskUploadStore(tmp_path / "store", ttl_seconds=60, max_bytes=MB)
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


def test_up020_route_and_callbacks_use_redis_when_configured(client, redis_url, monkeypatch):
    from dashboard.predictions import load_beats
    from dashboard.uploads import get_store

    monkeypatch.setenv("UPLOAD_STORE_URL", redis_url)
    response = client.post("/upload", data=SAMPLE.read_bytes(), headers=FROM_PAGE)
    assert response.status_code == 200, response.get_data(as_text=True)
    store = get_store()
    assert type(store).__name__ == "RedisUploadStore"
    token = response.get_json()["token"]
    assert store.open_upload(token).read() == SAMPLE.read_bytes()
    assert len(load_beats(store, token).X) == 50  # validated once, cached in Redis for every worker
    assert store.read(token, "beats.npz") is not None
