"""Dashboard benchmarks: page loads and uploads in headless Chromium, gunicorn worker memory, a loopback load test.

    .venv/bin/python bench/bench_dashboard.py [--runs 5] [--clients 16] [--seconds 30]

Serves the committed bundle with the Procfile's gunicorn settings (2 workers)
on a free loopback port, and prints a Markdown table for bench/RESULTS.md.
Upload files are built from real beats: rows of assets/random_test_sample.csv
drawn with replacement, written as Kaggle writes mitbih_test.csv (%.18e), so
21,892 rows come to about 100 MB like the real file.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "assets" / "random_test_sample.csv"
PAGES = {"/": ["data-distribution", "data-templates"], "/models": ["models-confusion", "models-bars", "models-compare"],
         "/predict": [], "/about": []}
PAGE_MARKERS = {"/": "#data-class-table", "/models": "#models-card-cascade", "/predict": "#upload-zone",
                "/about": "#about-page"}


def build_csv(rows: int, path: Path, seed: int = 0) -> Path:
    sample = np.loadtxt(SAMPLE, delimiter=",")
    drawn = sample[np.random.default_rng(seed).integers(0, len(sample), rows)]
    np.savetxt(path, drawn, delimiter=",", fmt="%.18e")
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(port: int, upload_dir: Path, workers: int) -> subprocess.Popen:
    env = {**os.environ, "GUNICORN_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": str(workers),
           "UPLOAD_DIR": str(upload_dir)}
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--config", "python:dashboard.gunicorn_conf", "dashboard.app:server"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).close()
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("gunicorn did not start")


def worker_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(pid) for pid in children]


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def browser():
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1366,900"):
        options.add_argument(argument)
    for candidate in ("/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if Path(candidate).exists():
            options.binary_location = candidate
    return webdriver.Chrome(options=options)


def wait(driver, script: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if driver.execute_script(script):
            return
        time.sleep(0.02)
    raise TimeoutError(f"{script}\npage text: {driver.execute_script('return document.body.innerText')[:500]}")


def graphs_drawn(ids) -> str:
    checks = " && ".join(
        f"(document.querySelector('#{i} .js-plotly-plot') || {{}}).data?.length > 0" for i in ids
    ) or "true"
    return checks


def page_load_seconds(driver, base: str, path: str) -> float:
    driver.get("about:blank")
    started = time.perf_counter()
    driver.get(base + path)
    wait(driver, f"return !!document.querySelector('{PAGE_MARKERS[path]}') && {graphs_drawn(PAGES[path])}")
    return time.perf_counter() - started


def upload_seconds(driver, base: str, csv: Path, rows: int) -> float:
    driver.get(base + "/predict")
    wait(driver, "return !!document.querySelector('#upload-zone') && !!document.getElementById('upload-input')")
    started = time.perf_counter()
    driver.find_element("id", "upload-input").send_keys(str(csv))
    wait(driver, "const s = document.getElementById('predict-summary-text');"
                 f"return s && s.textContent.includes('{rows:,} beats') && "
                 "(document.querySelector('#predict-overlay .js-plotly-plot') || {}).data?.length > 2 && "
                 "document.querySelectorAll('#predict-table tbody tr').length > 1", timeout=180)
    return time.perf_counter() - started


class DashClient:
    """Calls the app's callbacks over HTTP the way the browser does, from /_dash-dependencies."""

    def __init__(self, base: str):
        self.base = base
        self.dependencies = json.loads(self.get("/_dash-dependencies"))

    def get(self, path: str) -> bytes:
        with urllib.request.urlopen(self.base + path, timeout=120) as response:
            return response.read()

    def post(self, path: str, body: bytes, headers: dict) -> bytes:
        request = urllib.request.Request(self.base + path, data=body, headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.read()

    def callback(self, inputs: dict, changed: str) -> dict:
        wanted = set(inputs)
        dep = next(d for d in self.dependencies
                   if {f"{i['id']}.{i['property']}" for i in d["inputs"]} == wanted)
        outputs = [{"id": o.split(".")[0], "property": o.split(".")[1]}
                   for o in dep["output"].strip(".").split("...")]
        payload = {
            "output": dep["output"],
            "outputs": outputs if len(outputs) > 1 else outputs[0],
            "inputs": [{"id": i["id"], "property": i["property"], "value": inputs[f"{i['id']}.{i['property']}"]}
                       for i in dep["inputs"]],
            "changedPropIds": [changed],
            "state": [{"id": s["id"], "property": s["property"]} for s in dep["state"]],
        }
        return json.loads(self.post("/_dash-update-component", json.dumps(payload).encode(),
                                    {"Content-Type": "application/json"}))

    def view_page(self, path: str) -> None:
        self.get(path)
        self.get("/_dash-layout")
        content = self.callback({"_pages_location.pathname": path, "_pages_location.search": ""},
                                "_pages_location.pathname")
        assert "_pages_content" in content["response"], content

    def upload_and_classify(self, csv_bytes: bytes, rows: int) -> None:
        token = json.loads(self.post("/upload", csv_bytes, {"Content-Type": "application/octet-stream",
                                                             "X-Requested-With": "dashboard-upload",
                                                             "X-Filename": "load.csv"}))["token"]
        result = self.callback({"upload-result.data": {"token": token, "filename": "load.csv", "nonce": 1},
                                "predict-model.value": "cascade"}, "upload-result.data")
        text = json.dumps(result["response"])
        assert f"{rows:,} beats" in text, text[:300]


def load_test(base: str, csv: Path, rows: int, clients: int, seconds: float) -> dict:
    csv_bytes = csv.read_bytes()
    counts = {"page": 0, "upload": 0}
    latencies: dict[str, list[float]] = {"page": [], "upload": []}
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client(seed: int) -> None:
        rng = random.Random(seed)
        try:
            dash = DashClient(base)
        except Exception as error:  # noqa: BLE001 - every failure is counted, not raised
            with lock:
                errors.append(f"setup: {error!r}")
            return
        while time.monotonic() < stop_at:
            kind = "upload" if rng.random() < 0.25 else "page"
            started = time.perf_counter()
            try:
                if kind == "upload":
                    dash.upload_and_classify(csv_bytes, rows)
                else:
                    dash.view_page(rng.choice(list(PAGES)))
            except Exception as error:  # noqa: BLE001
                with lock:
                    errors.append(f"{kind}: {error!r}"[:300])
                continue
            with lock:
                counts[kind] += 1
                latencies[kind].append(time.perf_counter() - started)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return {"clients": clients, "seconds": elapsed, "counts": counts, "errors": errors,
            "p50": {k: statistics.median(v) if v else float("nan") for k, v in latencies.items()},
            "p95": {k: float(np.percentile(v, 95)) if v else float("nan") for k, v in latencies.items()}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per measurement (median reported)")
    parser.add_argument("--big-runs", type=int, default=3, help="runs of the 21,892-beat upload")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as work:
        return run(Path(work), args)


def run(work: Path, args) -> int:
    small = build_csv(1_000, work / "beats-1000.csv")
    big = build_csv(21_892, work / "beats-21892.csv", seed=1)
    print(f"upload files: 1,000 beats {small.stat().st_size / 2**20:.1f} MB, "
          f"21,892 beats {big.stat().st_size / 2**20:.1f} MB", flush=True)
    port = free_port()
    server = start_gunicorn(port, work / "uploads", args.workers)
    base = f"http://127.0.0.1:{port}"
    results = {}
    try:
        driver = browser()
        try:
            page_load_seconds(driver, base, "/")  # warm-up: each worker loads the bundle on first use
            for path in PAGES:
                times = [page_load_seconds(driver, base, path) for _ in range(args.runs)]
                results[f"page {path}"] = times
                print(f"page {path}: median {statistics.median(times):.2f} s {['%.2f' % t for t in times]}", flush=True)
            for label, csv, rows, runs in (("upload 1,000 beats", small, 1_000, args.runs),
                                           ("upload 21,892 beats (~100 MB)", big, 21_892, args.big_runs)):
                times = [upload_seconds(driver, base, csv, rows) for _ in range(runs)]
                results[label] = times
                print(f"{label}: median {statistics.median(times):.2f} s {['%.2f' % t for t in times]}", flush=True)
        finally:
            driver.quit()
        peaks = {pid: peak_rss_mb(pid) for pid in worker_pids(server.pid)}
        print(f"worker peak RSS after uploads (MB): {peaks}", flush=True)
        load = load_test(base, small, 1_000, args.clients, args.seconds)
        peaks_after = {pid: peak_rss_mb(pid) for pid in worker_pids(server.pid)}
        print(f"load test: {json.dumps({k: v for k, v in load.items() if k != 'errors'})}", flush=True)
        print(f"load test errors: {len(load['errors'])} {load['errors'][:5]}", flush=True)
        print(f"worker peak RSS after load test (MB): {peaks_after}", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)

    print("\n| measurement | median | runs |\n| --- | --- | --- |")
    for label, times in results.items():
        print(f"| {label} | {statistics.median(times):.2f} s | {', '.join('%.2f' % t for t in times)} |")
    print(f"| gunicorn worker peak RSS (VmHWM), max over workers | {max(peaks_after.values()):.0f} MB | "
          f"{', '.join('%.0f' % v for v in peaks_after.values())} |")
    total = sum(load["counts"].values())
    print(f"| load test: {load['clients']} clients, {load['seconds']:.0f} s | {total} requests, "
          f"{len(load['errors'])} errors | pages {load['counts']['page']} (p50 {load['p50']['page']:.2f} s, "
          f"p95 {load['p95']['page']:.2f} s), uploads of 1,000 beats {load['counts']['upload']} "
          f"(p50 {load['p50']['upload']:.2f} s, p95 {load['p95']['upload']:.2f} s) |")
    return 1 if load["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
