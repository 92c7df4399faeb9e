"""Dashboard test set-up: headless Chromium for dash[testing], a private upload store, and servers to test against."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest

from pagehelpers import REPO, free_port, wait_for_http

CHROMEDRIVER = shutil.which("chromedriver")
CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
BROWSER_FIXTURES = {"dash_duo", "dash_br", "dash_thread_server"}


def pytest_configure(config):
    # Always headless: CI and developer machines alike have no display.
    config.option.headless = True
    if CHROMIUM:
        os.environ.setdefault("DASH_TEST_CHROMEPATH", CHROMIUM)


def pytest_setup_options():
    """dash[testing]'s hook: a laptop-sized window, so pages lay out as users see them."""
    from selenium.webdriver.chrome.options import Options

    options = Options()
    options.add_argument("--window-size=1366,900")
    return options


def pytest_collection_modifyitems(config, items):
    if CHROMEDRIVER and CHROMIUM:
        return
    reason = (
        "needs Chromium and chromedriver (Debian: apt-get install chromium chromium-driver; "
        "`make test` installs them when it runs as root)"
    )
    for item in items:
        if BROWSER_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session", autouse=True)
def upload_dir(tmp_path_factory):
    """Every test session gets its own upload store, shared with the gunicorn workers it starts."""
    path = tmp_path_factory.mktemp("uploads")
    os.environ["UPLOAD_DIR"] = str(path)
    return path


@pytest.fixture(scope="session")
def bundle():
    """The bundle the dashboard serves: models/ (or MODELS_DIR). A bundle that is there but does not load fails."""
    from dashboard.data import BundleError, get_bundle
    from dashboard.settings import settings

    if not (settings().models_dir / "manifest.json").is_file():
        pytest.skip(f"no model bundle in {settings().models_dir} (models/manifest.json is not committed yet)")
    try:
        return get_bundle()
    except BundleError as error:
        pytest.fail(f"The dashboard tests need a loadable model bundle: {error}")


@pytest.fixture(scope="session")
def report(bundle):
    """The report as the pages read it (dashboard/data.py)."""
    from dashboard.data import get_report

    return get_report()


@pytest.fixture(scope="session")
def dash_app(bundle):
    from dashboard.app import app, finish_dash_setup

    finish_dash_setup()  # as gunicorn's workers do: dash_duo's threaded server has the same first-request race
    return app


@pytest.fixture(scope="module")
def gunicorn_url(upload_dir, tmp_path_factory):
    """The Procfile's command (gunicorn, 2 workers) on a free loopback port; yields its base URL."""
    log_path = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    port = free_port()
    env = {**os.environ, "PORT": str(port), "WEB_CONCURRENCY": "2", "GUNICORN_BIND": f"127.0.0.1:{port}"}
    log = open(log_path, "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", "python:dashboard.gunicorn_conf", "dashboard.app:server"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_for_http(url + "/healthz", process)
        except RuntimeError as error:
            pytest.fail(f"{error}; gunicorn said:\n{log_path.read_text()}")
        yield url
    finally:
        log.close()
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A private redis-server on a free loopback port (Debian: apt-get install redis-server; `make test` does)."""
    binary = shutil.which("redis-server")
    if not binary:
        pytest.skip("needs redis-server (Debian: apt-get install redis-server; `make test` installs it as root)")
    port = free_port()
    folder = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(folder)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    import redis

    client = redis.Redis(port=port)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"redis-server did not start on port {port}")
                time.sleep(0.1)  # polling a starting server
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        client.close()
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture(scope="session")
def rhythm(bundle):
    """The bundle's rhythm-aware cascade; the Recording page's own sentence is tested without it (rec008)."""
    from pipeline.records import RecordError, record_model

    try:
        return record_model(bundle)
    except RecordError as error:
        pytest.skip(f"the served bundle has no rhythm-aware cascade yet: {error}")


@pytest.fixture(scope="module")
def callback_client(dash_app):
    """A Flask test client of the app, for posting callback requests as a browser (or anyone) would."""
    return dash_app.server.test_client()


@pytest.fixture(scope="module")
def dependencies(callback_client):
    """The app's callbacks as the browser learns them (/_dash-dependencies)."""
    return callback_client.get("/_dash-dependencies").get_json()

