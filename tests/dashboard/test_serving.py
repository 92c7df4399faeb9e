"""Serving with gunicorn (the Procfile's command, 2 workers), without a browser."""
import re
import urllib.request
from concurrent.futures import ThreadPoolExecutor


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
