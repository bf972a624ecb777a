"""A stand-in for an implementation of the endpoint, right or wrong in one chosen way, for the
harness test: python fake_endpoint.py MODE (PORT from the environment). Modes:
  good         the document the harness expects (node key names)
  missing-key  no "preferences" key (every response: wrk's per-response check must see it)
  wrong-user   a well-formed document for another user (only a full parse can tell)
  status-500   every 5th response is a 500
"""

import json
import os
import re
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODE = sys.argv[1]
COUNT = 0


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes

    def do_GET(self):  # noqa: N802 (http.server's name)
        global COUNT
        COUNT += 1
        m = re.match(r"/api/users/(\d+)/enriched", self.path)
        uid = int(m.group(1)) if m else 0
        if MODE == "wrong-user":
            uid += 1
        doc = {"user": {"id": str(uid)}, "preferences": {"user_id": str(uid)}, "recentActivity": [],
               "analytics": None, "meta": {"processingTimeMs": 1}}
        if MODE == "missing-key":
            del doc["preferences"]
        status = 500 if MODE == "status-500" and COUNT % 5 == 0 else 200
        body = json.dumps(doc, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
