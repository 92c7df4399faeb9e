"""Slow clients against the served dashboard: do /healthz and a page load keep answering while 64 connections dribble?

    .venv/bin/python bench/bench_slow_clients.py [--clients 64] [--seconds 30] [--runs 1] [--only NAME ...] [--busy]

For each candidate server it starts the dashboard on a free loopback port,
measures /healthz and a page load (the Predict page's HTML, then its layout
and callback list, as a browser fetches them) with no attack (the baseline),
then again while `--clients` connections are held open: half send a header
line every 4 s and never finish their headers, half send a POST to /upload
whose body arrives 100 bytes every 4 s. A connection the server drops is
reopened, as an attacker would. Each probe has a 5 s timeout (a timeout
counts as 5 s). With `--busy`, one more client uploads a Kaggle-sized file
(21,892 beats, ~100 MB) and classifies it, over and over, during the attack:
CPU-bound callbacks share the workers with the probes. Everything stops after
`--seconds`; prints a Markdown table. Loopback only.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GUNICORN = [sys.executable, "-m", "gunicorn", "--config", "python:dashboard.gunicorn_conf"]
APP = "dashboard.app:server"
# name -> (argv after the port is known, description)
CANDIDATES = {
    "gthread-4 (old Procfile)": lambda port: GUNICORN + ["-k", "gthread", "--threads", "4", "-b", f"127.0.0.1:{port}", APP],
    "gthread-64": lambda port: GUNICORN + ["-k", "gthread", "--threads", "64", "-b", f"127.0.0.1:{port}", APP],
    "gevent": lambda port: GUNICORN + ["-k", "gevent", "-b", f"127.0.0.1:{port}", APP],
    "waitress-8": lambda port: [sys.executable, "-m", "waitress", "--host", "127.0.0.1", f"--port={port}",
                                "--threads=8", APP],
    # `make run` and `--share` start gunicorn through dashboard.share.start_gunicorn with gunicorn_conf as is.
    "python -m dashboard (make run, --share)": lambda port: [sys.executable, "-m", "dashboard", "--port", str(port)],
}
PROBE_TIMEOUT = 5.0
DRIP_SECONDS = 4.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(argv: list[str], upload_dir: Path) -> subprocess.Popen:
    env = {**os.environ, "WEB_CONCURRENCY": "2", "UPLOAD_DIR": str(upload_dir)}
    return subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_healthy(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            urllib.request.urlopen(url + "/healthz", timeout=2).close()
            return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("server did not start")


def timed_get(url: str, paths: list[str]) -> float:
    """Seconds to fetch `paths` one after another (a new connection each); PROBE_TIMEOUT if any fails."""
    started = time.perf_counter()
    try:
        for path in paths:
            with urllib.request.urlopen(url + path, timeout=PROBE_TIMEOUT) as response:
                response.read()
    except OSError:
        return PROBE_TIMEOUT
    return min(time.perf_counter() - started, PROBE_TIMEOUT)


def probe(url: str, seconds: float) -> dict[str, list[float]]:
    times = {"healthz": [], "page": []}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        times["healthz"].append(timed_get(url, ["/healthz"]))
        times["page"].append(timed_get(url, ["/predict", "/_dash-layout", "/_dash-dependencies"]))
        time.sleep(0.2)
    return times


class Classifier:
    """Uploads and classifies a Kaggle-sized file again and again until stopped; counts the rounds."""

    def __init__(self, url: str, csv_bytes: bytes, rows: int):
        self.url, self.csv_bytes, self.rows = url, csv_bytes, rows
        self.stop = threading.Event()
        self.rounds, self.errors = 0, 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        from bench_dashboard import DashClient

        client = DashClient(self.url)
        while not self.stop.is_set():
            try:
                client.upload_and_classify(self.csv_bytes, self.rows)
                self.rounds += 1
            except (OSError, AssertionError):
                self.errors += 1

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=180)


class SlowClients:
    """`n` connections that never finish their request: half slow headers, half slow /upload bodies."""

    def __init__(self, port: int, n: int):
        self.port, self.n = port, n
        self.stop = threading.Event()
        self.reopened = 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def open(self, slow_body: bool) -> socket.socket:
        conn = socket.create_connection(("127.0.0.1", self.port), timeout=2)
        if slow_body:
            conn.sendall(b"POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n"
                         b"X-Requested-With: upload.js\r\nContent-Length: 10000000\r\n\r\n")
        else:
            conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        return conn

    def run(self) -> None:
        conns = []
        for i in range(self.n):
            try:
                conns.append([self.open(i % 2 == 1), i % 2 == 1])
            except OSError:
                conns.append([None, i % 2 == 1])
        while not self.stop.wait(DRIP_SECONDS):
            for entry in conns:
                conn, slow_body = entry
                try:
                    if conn is None:
                        raise OSError
                    conn.sendall(b"0," * 50 if slow_body else b"X-Slow: 1\r\n")
                except OSError:
                    if conn is not None:
                        conn.close()
                    self.reopened += 1
                    try:
                        entry[0] = self.open(slow_body)
                    except OSError:
                        entry[0] = None
        for conn, _ in conns:
            if conn is not None:
                conn.close()

    def __enter__(self):
        self.thread.start()
        time.sleep(1.0)  # let every connection open and send its first bytes
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=DRIP_SECONDS + 5)


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 2 else values[0]


def summary(times: list[float]) -> str:
    timeouts = sum(t >= PROBE_TIMEOUT for t in times)
    return (f"{statistics.median(times) * 1000:.0f} / {p95(times) * 1000:.0f} ms"
            + (f", {timeouts}/{len(times)} timed out" if timeouts else f" (n={len(times)})"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--only", nargs="*", help="names (prefixes) of candidates to run")
    parser.add_argument("--busy", action="store_true", help="classify a Kaggle-sized upload during the attack")
    args = parser.parse_args()
    rows = []
    big = b""
    if args.busy:
        from bench_dashboard import build_csv

        with tempfile.TemporaryDirectory() as folder:
            big = build_csv(21_892, Path(folder) / "big.csv").read_bytes()
    for name, argv in CANDIDATES.items():
        if args.only and not any(name.startswith(o) for o in args.only):
            continue
        for run in range(args.runs):
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            with tempfile.TemporaryDirectory() as upload_dir:
                process = start(argv(port), Path(upload_dir))
                try:
                    wait_healthy(url, process)
                    timed_get(url, ["/predict", "/_dash-layout", "/_dash-dependencies"])  # warm up
                    quiet = probe(url, min(10.0, args.seconds / 3))
                    with SlowClients(port, args.clients) as attack, \
                            (Classifier(url, big, 21_892) if args.busy else contextlib.nullcontext()) as busy:
                        loaded = probe(url, args.seconds)
                    reopened = f"{attack.reopened}" + (f"; {busy.rounds} classified, {busy.errors} errors"
                                                       if args.busy else "")
                finally:
                    process.terminate()
                    try:
                        process.wait(timeout=20)
                    except subprocess.TimeoutExpired:
                        process.kill()
                        process.wait()
            rows.append((name, run + 1, quiet, loaded, reopened))
            print(f"{name} run {run + 1}: healthz {summary(loaded['healthz'])}, page {summary(loaded['page'])}",
                  file=sys.stderr, flush=True)
    busy = ", a Kaggle-sized upload classified again and again meanwhile" if args.busy else ""
    print(f"\n{args.clients} slow clients for {args.seconds:.0f} s{busy}; median / p95 per probe (5 s timeout)\n")
    print("| server | run | /healthz, no attack | /healthz, slow clients | page, no attack | page, slow clients "
          "| connections reopened |")
    print("|---|---|---|---|---|---|---|")
    for name, run, quiet, loaded, reopened in rows:
        print(f"| {name} | {run} | {summary(quiet['healthz'])} | {summary(loaded['healthz'])} | "
              f"{summary(quiet['page'])} | {summary(loaded['page'])} | {reopened} |")


if __name__ == "__main__":
    main()
