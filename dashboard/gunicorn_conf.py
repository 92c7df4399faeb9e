"""Gunicorn settings for the dashboard, shared by the Procfile and `python -m dashboard --share`."""
import os

# Hosts such as Heroku or Render set PORT and WEB_CONCURRENCY.
bind = os.environ.get("GUNICORN_BIND") or f"0.0.0.0:{os.environ.get('PORT', '8050')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# gevent: each connection is a cheap greenlet, so slow clients (headers or bodies dribbled in) cannot hold
# every request slot as they did with 2 x 4 gthread threads; see bench/bench_slow_clients.py and RESULTS.md.
worker_class = "gevent"
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", "1000"))
# A 100 MB upload on a slow link takes a while; the classification itself takes seconds.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "180"))
# Never preload: the bundle (XGBoost, OpenMP) must be loaded after the fork, in each worker.
preload_app = False
# One OpenMP thread per worker: workers x threads already fill the cores, and it keeps XGBoost fork-safe.
raw_env = [f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '1')}"]
os.environ.setdefault("OMP_NUM_THREADS", "1")
accesslog = os.environ.get("GUNICORN_ACCESSLOG")  # "-" for stdout; off by default
# gunicorn 27 opens a control socket at one path per user ($XDG_RUNTIME_DIR or ~/.gunicorn): a second
# instance takes it over and stopping either removes it. Nothing here uses it.
control_socket_disable = True


def post_worker_init(worker):
    """Each worker makes its first request itself before serving anyone (see dashboard.app.finish_dash_setup)."""
    from dashboard.app import finish_dash_setup

    finish_dash_setup()
