"""The upload store and the /upload route, without a browser."""
import io
import os
import time

import pytest

from dashboard.settings import MB
from dashboard.uploads import DiskUploadStore, UnknownUpload, UploadTooLarge

from pagehelpers import SAMPLE


@pytest.fixture
def store(tmp_path):
    return DiskUploadStore(tmp_path / "store", ttl_seconds=60)


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


def test_up007_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json()["status"] == "ok"
