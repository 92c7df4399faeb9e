"""The upload store and the /upload route, without a browser."""
import io
import os
import time

import pytest

from dashboard.settings import MB
from dashboard.uploads import DiskUploadStore, StoreFull, UnknownUpload, UploadTooLarge

from pagehelpers import SAMPLE


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
    assert [p for p in store.root.iterdir()] == []  # nothing half-written is left behind


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
        tokens.append(store.create(io.BytesIO(b"x" * 1000), limit=MB, size_hint=1000))
        then = time.time() - age
        os.utime(store.root / tokens[-1], (then, then))
    store.open_upload(tokens[0]).close()  # reading an upload marks it used: now tokens[1] is the oldest
    newest = store.create(io.BytesIO(b"y" * 1000), limit=MB, size_hint=1000)
    with pytest.raises(UnknownUpload):
        store.open_upload(tokens[1])
    for token in (tokens[0], tokens[2], newest):
        store.open_upload(token).close()
    assert sum(f.stat().st_size for f in store.root.rglob("*") if f.is_file()) <= 3000


def test_up009_upload_bigger_than_the_store_is_refused(tmp_path):
    store = DiskUploadStore(tmp_path / "store", ttl_seconds=3600, max_bytes=3000)
    kept = store.create(io.BytesIO(b"x" * 1000), limit=MB, size_hint=1000)
    with pytest.raises(StoreFull) as error:
        store.create(io.BytesIO(b"y" * 5000), limit=MB, size_hint=5000)
    assert "try again" in str(error.value)
    # A request whose Content-Length understates its body is stopped while streaming.
    with pytest.raises(StoreFull):
        store.create(io.BytesIO(b"z" * 5000), limit=MB, size_hint=10)
    assert [p.name for p in store.root.iterdir()] == [kept]  # nothing half-written is left behind


@pytest.fixture
def client():
    from dashboard.app import server  # the route needs no model bundle

    return server.test_client()


def test_up005_route_returns_a_token(client):
    response = client.post("/upload", data=SAMPLE.read_bytes(), headers={"X-Filename": "my%20beats.csv"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["filename"] == "my beats.csv" and len(body["token"]) == 43


def test_up006_route_refuses_too_large(client, monkeypatch):
    monkeypatch.setenv("UPLOAD_MAX_MB", "0.01")
    response = client.post("/upload", data=b"0" * 20_000)
    assert response.status_code == 413
    assert "the limit is" in response.get_json()["error"]

    # no Content-Length (a chunked request): the limit is enforced while streaming
    response = client.post("/upload", input_stream=io.BytesIO(b"0" * 20_000),
                           headers={"Transfer-Encoding": "chunked"},
                           environ_overrides={"wsgi.input_terminated": True})
    assert response.status_code == 413


def test_up010_route_answers_507_when_the_store_is_full(client, monkeypatch, tmp_path):
    monkeypatch.setenv("UPLOAD_DIR", str(tmp_path / "store"))
    monkeypatch.setenv("UPLOAD_STORE_MAX_MB", "0.01")
    response = client.post("/upload", data=b"0" * 20_000)
    assert response.status_code == 507
    assert "UPLOAD_STORE_MAX_MB" in response.get_json()["error"]
    assert client.get("/healthz").status_code == 200  # and the server keeps serving


def test_up007_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json()["status"] == "ok"
