"""`python -m service [--host H] [--port P] [--settings FILE] [--workers N]`: as `desk-inspector serve`."""

import argparse
import sys

from pydantic import ValidationError

from inspector.errors import InspectorError
from service.main import run_server

parser = argparse.ArgumentParser(prog="python -m service", description="Serve the desk inspector API and web page.")
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, default=8000)
parser.add_argument("--settings", default=None, help="settings file (YAML/JSON); env DESK_INSPECTOR_* override it")
parser.add_argument("--workers", type=int, default=1, help="server processes (one per CPU core scales best)")
args = parser.parse_args()
try:
    run_server(args.host, args.port, settings_file=args.settings, workers=args.workers)
except (InspectorError, ValidationError, ValueError) as error:
    print(f"error: {error}", file=sys.stderr)
    sys.exit(2)
