"""`python -m dashboard` and `--share`: messages a newcomer can act on, and the tunnel's life cycle (only ngrok is faked)."""
import contextlib
import os
import subprocess
import signal
import sys
import urllib.request
from pathlib import Path

import pytest

from pagehelpers import REPO, free_port, wait_for_http

from dashboard import share


def run_cli(*args, env=None, timeout=60):
    return subprocess.run([sys.executable, "-m", "dashboard", *args], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=timeout)


def test_cli001_no_bundle_says_how_to_get_one(tmp_path):
    result = run_cli(env={"MODELS_DIR": str(tmp_path)})
    assert result.returncode == 1
    assert "no usable model bundle" in result.stderr and "python -m pipeline train" in result.stderr


def test_cli002_share_needs_basic_auth(bundle):
    env = {k: v for k, v in os.environ.items() if k != share.AUTH_VARIABLE}
    result = subprocess.run([sys.executable, "-m", "dashboard", "--share"], cwd=REPO, capture_output=True,
                            text=True, env=env, timeout=60)
    assert result.returncode == 1
    assert "DASHBOARD_BASIC_AUTH=user:password" in result.stderr and "--no-auth" in result.stderr


def test_cli003_share_needs_ngrok_token(bundle):
    env = {k: v for k, v in os.environ.items() if k != "NGROK_AUTHTOKEN"}
    env[share.AUTH_VARIABLE] = "demo:long-enough-password"
    result = subprocess.run([sys.executable, "-m", "dashboard", "--share"], cwd=REPO, capture_output=True,
                            text=True, env=env, timeout=60)
    assert result.returncode == 1
    assert "NGROK_AUTHTOKEN" in result.stderr


class FakeTunnel:
    def __init__(self, public_url):
        self.public_url = public_url


@pytest.fixture
def fake_ngrok(monkeypatch):
    """Replace only pyngrok's network calls; record what the dashboard asked of them."""
    from pyngrok import ngrok

    calls = {"connect": [], "disconnect": [], "kill": 0, "config": []}

    def connect(addr=None, proto=None, pyngrok_config=None, **options):
        calls["connect"].append((addr, proto, options))
        path = Path(pyngrok_config.config_path)
        calls["config"].append({"path": path, "mode": path.stat().st_mode & 0o777, "text": path.read_text(),
                                "auth_token": pyngrok_config.auth_token})
        return FakeTunnel(f"http://{addr}")  # the "public" URL is the local server itself

    monkeypatch.setattr(ngrok, "connect", connect)
    monkeypatch.setattr(ngrok, "disconnect", lambda url, *a, **k: calls["disconnect"].append(url))
    monkeypatch.setattr(ngrok, "kill", lambda *a, **k: calls.__setitem__("kill", calls["kill"] + 1))
    monkeypatch.setenv("NGROK_AUTHTOKEN", "test-token-not-real")
    monkeypatch.setenv(share.AUTH_VARIABLE, "demo:long-enough-password")
    return calls


def test_cli004_share_serves_gunicorn_and_closes_tunnel(bundle, fake_ngrok):
    port = free_port()
    with share.shared(port, workers=1) as (public_url, process):
        with urllib.request.urlopen(public_url + "/healthz", timeout=10) as response:
            assert response.status == 200
        with urllib.request.urlopen(public_url + "/predict", timeout=10) as response:
            assert response.status == 200
        assert "gunicorn" in " ".join(process.args)
    assert fake_ngrok["connect"] == [(f"127.0.0.1:{port}", "http", {"basic_auth": ["demo:long-enough-password"]})]
    assert fake_ngrok["disconnect"] == [public_url] and fake_ngrok["kill"] == 1
    assert process.poll() is not None, "gunicorn still runs after the share ended"


def test_cli005_share_fails_clearly_when_ngrok_fails(bundle, fake_ngrok, monkeypatch):
    from pyngrok import ngrok
    from pyngrok.exception import PyngrokNgrokInstallError

    def unreachable(*args, **kwargs):
        raise PyngrokNgrokInstallError("An error occurred while downloading ngrok: <urlopen error timed out>")

    monkeypatch.setattr(ngrok, "connect", unreachable)
    started = []
    real_start = share.start_gunicorn
    monkeypatch.setattr(share, "start_gunicorn", lambda *a: started.append(real_start(*a)) or started[-1])
    with pytest.raises(share.ShareError) as error:
        with share.shared(free_port(), workers=1):
            pass
    assert "Could not open the ngrok tunnel" in str(error.value) and "downloading ngrok" in str(error.value)
    assert started and started[0].poll() is not None, "gunicorn was left running"


def test_cli006_no_auth_is_explicit(bundle, fake_ngrok, monkeypatch):
    monkeypatch.delenv(share.AUTH_VARIABLE)
    with pytest.raises(share.ShareError):
        share.basic_auth_from_env(required=True)
    assert share.basic_auth_from_env(required=False) is None
    monkeypatch.setenv(share.AUTH_VARIABLE, "demo:short")
    with pytest.raises(share.ShareError, match="at least 8"):
        share.basic_auth_from_env(required=True)


def test_cli007_share_keeps_the_ngrok_token_off_the_command_line(bundle, fake_ngrok):
    with share.shared(free_port(), workers=1):
        pass
    [config] = fake_ngrok["config"]
    # pyngrok puts `auth_token` on ngrok's command line (visible in ps); the private config file is not.
    assert config["auth_token"] is None
    assert config["mode"] == 0o600 and "test-token-not-real" in config["text"]
    assert not config["path"].exists(), "the token file outlived the share"


def serve_cli(*args):
    """Start `python -m dashboard ARGS` in its own process group (the dev server's reloader forks a child)."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "dashboard", "--port", str(port), *args], cwd=REPO,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    return f"http://127.0.0.1:{port}", process


def stop_cli(process):
    with contextlib.suppress(ProcessLookupError):  # it may have exited by itself
        os.killpg(process.pid, signal.SIGTERM)
    try:
        return process.communicate(timeout=20)[0].decode(errors="replace")
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        return process.communicate()[0].decode(errors="replace")


def test_cli008_debug_server_starts_and_serves(bundle):
    url, process = serve_cli("--debug")
    try:
        wait_for_http(url + "/healthz", process)
        with urllib.request.urlopen(url + "/predict", timeout=30) as response:
            assert response.status == 200 and "Werkzeug" in response.headers["Server"]
    finally:
        output = stop_cli(process)
    assert "AssertionError" not in output and "Traceback" not in output, output


def test_cli009_run_serves_with_gunicorn(bundle):
    url, process = serve_cli()
    try:
        wait_for_http(url + "/healthz", process)
        with urllib.request.urlopen(url + "/predict", timeout=30) as response:
            assert response.status == 200 and response.headers["Server"].startswith("gunicorn")
    finally:
        output = stop_cli(process)
    assert "development server" not in output.lower() and "Traceback" not in output, output
