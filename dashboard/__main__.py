"""`python -m dashboard`: serve the dashboard locally with gunicorn (`--debug`: Dash's dev server), or `--share` it through ngrok."""
from __future__ import annotations

import argparse
import os
import signal
import sys


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m dashboard",
        description="Serve the heartbeat dashboard on the committed model bundle (models/, or MODELS_DIR).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8050)), help="default 8050")
    parser.add_argument(
        "--debug", action="store_true",
        help="Flask's development server with Dash dev tools and hot reload, for working on the code",
    )
    parser.add_argument(
        "--share",
        action="store_true",
        help="serve with gunicorn on localhost and open a public ngrok tunnel; needs NGROK_AUTHTOKEN and "
        "DASHBOARD_BASIC_AUTH=user:password",
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--no-auth", action="store_true", help="with --share: no login on the public URL")
    return parser.parse_args(argv)


def check_bundle() -> bool:
    from dashboard.data import BundleError, get_bundle
    from dashboard.settings import settings

    try:
        get_bundle()
    except BundleError as error:
        print(
            f"Cannot serve the dashboard: no usable model bundle in {settings().models_dir}.\n  {error}\n"
            "  (Or set MODELS_DIR to a bundle directory.)",
            file=sys.stderr,
        )
        return False
    return True


def main(argv=None) -> int:
    args = parse_args(argv)
    if not check_bundle():
        return 1
    if args.share:
        from dashboard import share

        # Ctrl+C and a host's SIGTERM both end the tunnel and gunicorn cleanly.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        return share.run(args.port, args.workers, auth_required=not args.no_auth)

    if args.debug:
        from dashboard.app import app

        print(f"Dashboard (development server): http://{args.host}:{args.port}/  (Ctrl+C to stop)", flush=True)
        app.run(host=args.host, port=args.port, debug=True)
        return 0

    from dashboard.share import start_gunicorn

    # The production server, as the Procfile runs it, so what a newcomer tries is what gets deployed.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    print(f"Dashboard: http://{args.host}:{args.port}/  (Ctrl+C to stop)", flush=True)
    process = start_gunicorn(args.port, args.workers, host=args.host)
    try:
        return process.wait()
    except KeyboardInterrupt:
        process.terminate()
        return process.wait()


if __name__ == "__main__":
    sys.exit(main())
