"""`python -m dashboard --share`: gunicorn on localhost behind an ngrok tunnel with HTTP basic auth."""
from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from dashboard.settings import REPO_ROOT

AUTH_VARIABLE = "DASHBOARD_BASIC_AUTH"


class ShareError(RuntimeError):
    """Sharing could not start; the message says what to do."""


def basic_auth_from_env(required: bool) -> str | None:
    credentials = os.environ.get(AUTH_VARIABLE, "").strip()
    if not credentials:
        if required:
            raise ShareError(
                f"Set {AUTH_VARIABLE}=user:password so the public URL asks for a login "
                "(or pass --no-auth to share without one, e.g. for a throwaway demo)."
            )
        return None
    user, _, password = credentials.partition(":")
    if not user or len(password) < 8:
        raise ShareError(f"{AUTH_VARIABLE} must look like user:password, with a password of at least 8 characters.")
    return credentials


def start_gunicorn(port: int, workers: int, host: str = "127.0.0.1") -> subprocess.Popen:
    """The Procfile's gunicorn, bound to host:port."""
    env = {**os.environ, "GUNICORN_BIND": f"{host}:{port}", "WEB_CONCURRENCY": str(workers)}
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", "python:dashboard.gunicorn_conf", "dashboard.app:server"],
        cwd=REPO_ROOT,
        env=env,
    )


def wait_until_healthy(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ShareError(f"gunicorn exited with status {process.returncode}; see its log above.")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        time.sleep(0.25)
    raise ShareError(f"gunicorn did not answer on {url} within {timeout:.0f} s.")


def auth_token_from_env() -> str:
    token = os.environ.get("NGROK_AUTHTOKEN", "").strip()
    if not token:
        raise ShareError(
            "Set NGROK_AUTHTOKEN to your ngrok auth token (free at ngrok.com, dashboard > Your Authtoken). "
            "Never commit it."
        )
    return token


@contextlib.contextmanager
def ngrok_config(auth_token: str):
    """A pyngrok configuration whose token sits in a private 0600 file, deleted on exit.

    pyngrok would otherwise pass NGROK_AUTHTOKEN to ngrok as `--authtoken`, which any local user sees in `ps`.
    """
    from pyngrok.conf import PyngrokConfig

    with tempfile.TemporaryDirectory(prefix="dashboard-ngrok-") as folder:  # mode 0700
        path = Path(folder) / "ngrok.yml"
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as config_file:
            # A JSON string is a valid YAML string, quoted and escaped.
            config_file.write(f'version: "3"\nagent:\n  authtoken: {json.dumps(auth_token)}\n')
        config = PyngrokConfig(config_path=str(path))
        config.auth_token = None  # PyngrokConfig copies NGROK_AUTHTOKEN here, and from here onto the command line
        yield config


def open_tunnel(port: int, basic_auth: str | None, config):
    """The one call into ngrok (tests fake `pyngrok.ngrok.connect`); returns pyngrok's tunnel."""
    from pyngrok import ngrok
    from pyngrok.exception import PyngrokError

    options = {"basic_auth": [basic_auth]} if basic_auth else {}
    try:
        return ngrok.connect(f"127.0.0.1:{port}", "http", pyngrok_config=config, **options)
    except PyngrokError as error:
        raise ShareError(
            "Could not open the ngrok tunnel: "
            f"{error}. Check that this machine can reach ngrok (and download it on first use), "
            "and that NGROK_AUTHTOKEN is right."
        ) from error


def close_tunnel(tunnel, config) -> None:
    from pyngrok import ngrok

    with contextlib.suppress(Exception):  # closing must not hide why we are closing
        ngrok.disconnect(tunnel.public_url, pyngrok_config=config)
    with contextlib.suppress(Exception):
        ngrok.kill(pyngrok_config=config)


@contextlib.contextmanager
def shared(port: int = 8050, workers: int = 2, *, auth_required: bool = True) -> Iterator[tuple[str, subprocess.Popen]]:
    """Serve with gunicorn on 127.0.0.1:port and tunnel it; yields (public URL, gunicorn process).

    Everything started here is stopped on exit, however the block ends.
    """
    basic_auth = basic_auth_from_env(auth_required)
    auth_token = auth_token_from_env()  # raises the clear message before gunicorn starts
    process = start_gunicorn(port, workers)
    tunnel = None
    with ngrok_config(auth_token) as config:
        try:
            wait_until_healthy(f"http://127.0.0.1:{port}", process)
            tunnel = open_tunnel(port, basic_auth, config)
            yield tunnel.public_url, process
        finally:
            if tunnel is not None:
                close_tunnel(tunnel, config)
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


def run(port: int, workers: int, *, auth_required: bool) -> int:
    try:
        with shared(port, workers, auth_required=auth_required) as (public_url, process):
            login = " (log in with the user:password in DASHBOARD_BASIC_AUTH)" if auth_required else ""
            print(f"\nDashboard shared at {public_url}{login}\nPress Ctrl+C to stop sharing.\n", flush=True)
            try:
                return process.wait()
            except KeyboardInterrupt:
                print("Stopping: closing the tunnel and gunicorn.", flush=True)
                return 0
    except ShareError as error:
        print(f"Cannot share the dashboard: {error}", file=sys.stderr)
        return 1
