"""Serving with gunicorn (the Procfile's command, 2 workers), without a browser."""
import os
import re
import subprocess
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor

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
    for path in ("/healthz", "/", "/models", "/predict", "/about", "/no-such-page"):
        assert status(gunicorn_url + path) == 200, path


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
