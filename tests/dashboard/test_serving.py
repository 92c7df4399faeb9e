"""Serving with gunicorn (the Procfile's command, 2 workers), without a browser."""
import json
import os
import re
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from pagehelpers import REPO, free_port, wait_for_http


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_srv001_fresh_workers_serve_parallel_script_requests(gunicorn_url, dash_app):
    # A fresh worker's first requests are often a page's parallel script requests; Dash answers the
    # losers of its first-request race with a 500 (a blank "Loading..." page) unless the app warms up.
    # Runs first in this module, so the workers have served nothing but the fixture's /healthz.
    html = dash_app.server.test_client().get("/").get_data(as_text=True)
    scripts = [gunicorn_url + src for src in re.findall(r'src="(/_dash-component-suites/[^"]+)"', html)]
    assert scripts
    with ThreadPoolExecutor(32) as pool:
        codes = list(pool.map(status, scripts * 4))
    assert set(codes) == {200}, codes


def test_srv002_health_and_pages(gunicorn_url):
    for path in ("/", "/models", "/predict", "/record", "/about"):
        assert status(gunicorn_url + path) == 200, path
    # Issue 10: an unknown address answers 404 (with the app's own 404 page), also through gunicorn.
    assert status(gunicorn_url + "/no-such-page") == 404
    with urllib.request.urlopen(gunicorn_url + "/healthz", timeout=30) as response:
        assert response.status == 200 and json.load(response)["bundle_ok"] is True


def test_srv003_no_control_socket_shared_between_instances(upload_dir, tmp_path):
    # gunicorn 27 puts one control socket per user in $XDG_RUNTIME_DIR: a second instance would take it over.
    port = free_port()
    env = {**os.environ, "XDG_RUNTIME_DIR": str(tmp_path), "GUNICORN_BIND": f"127.0.0.1:{port}",
           "WEB_CONCURRENCY": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", "python:dashboard.gunicorn_conf", "dashboard.app:server"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", process)
        assert list(tmp_path.iterdir()) == []
    finally:
        process.terminate()
        process.wait(timeout=20)


def raw_request(url: str, request: bytes, shut: bool = True) -> bytes:
    """Send bytes as they are (a client that breaks HTTP on purpose) and read the answer."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        conn.sendall(request)
        if shut:
            conn.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
        return answer


UPLOAD_HEAD = b"POST /upload HTTP/1.1\r\nHost: x\r\nX-Requested-With: dashboard-upload\r\nConnection: close\r\n"


def test_srv004_broken_upload_bodies_answer_400(gunicorn_url):
    cut_off = raw_request(gunicorn_url, UPLOAD_HEAD + b"Content-Length: 235000\r\n\r\n" + b"0," * 50_000)
    assert cut_off.startswith(b"HTTP/1.1 400") and b"broke off" in cut_off, cut_off[:300]
    bad_chunks = raw_request(gunicorn_url, UPLOAD_HEAD + b"Transfer-Encoding: chunked\r\n\r\nZZ\r\n0,0\r\n0\r\n\r\n")
    assert bad_chunks.startswith(b"HTTP/1.1 400"), bad_chunks[:300]
    empty = raw_request(gunicorn_url, UPLOAD_HEAD + b"Content-Length: 0\r\n\r\n")
    assert empty.startswith(b"HTTP/1.1 400") and b"empty" in empty, empty[:300]


def test_srv005_upload_needs_the_pages_header(gunicorn_url):
    # What a cross-site <form> or a "simple" cross-origin fetch can send: no custom header.
    request = urllib.request.Request(gunicorn_url + "/upload", data=b"0.5," * 187, method="POST",
                                     headers={"Content-Type": "text/plain"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 403


def test_srv006_callback_route_takes_about_1_mb(gunicorn_url):
    # A 150 MB filename inside a callback's JSON once took a worker to 1.5 GB; 2 MB is refused unread.
    answer = raw_request(gunicorn_url, b"POST /_dash-update-component HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                         b"Content-Type: application/json\r\nContent-Length: 2097152\r\n\r\n" + b'{"output": "x"')
    assert answer.startswith(b"HTTP/1.1 413"), answer[:300]


def test_srv007_security_headers(gunicorn_url):
    for path in ("/", "/predict", "/healthz"):
        with urllib.request.urlopen(gunicorn_url + path, timeout=30) as response:
            assert response.headers["X-Content-Type-Options"] == "nosniff", path
            assert "frame-ancestors 'self'" in response.headers["Content-Security-Policy"], path
            assert response.headers["X-Frame-Options"] == "SAMEORIGIN", path


def test_srv008_slow_clients_do_not_take_every_request_slot(gunicorn_url):
    # 64 connections that never finish: half dribble headers, half an /upload body. (Their timing figures
    # are in bench/bench_slow_clients.py; this checks that the server still answers at all.)
    host, port = gunicorn_url.removeprefix("http://").split(":")
    slow = []
    try:
        for i in range(64):
            conn = socket.create_connection((host, int(port)), timeout=10)
            if i % 2:
                conn.sendall(UPLOAD_HEAD + b"Content-Length: 10000000\r\n\r\n0,0")
            else:
                conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: 1\r\n")
            slow.append(conn)
        for path in ("/healthz", "/predict", "/_dash-layout"):
            with urllib.request.urlopen(gunicorn_url + path, timeout=5) as response:
                assert response.status == 200, path
    finally:
        for conn in slow:
            conn.close()
