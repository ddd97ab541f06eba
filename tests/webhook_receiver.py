"""A real local webhook endpoint for tests: an http.server in a thread that records bodies."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    """A webhook endpoint: records every JSON body; `status` and `delay` shape its answer, and
    clearing `answering` holds every answer until it is set again."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.status = 200
        self.delay = 0.0
        self.answering = threading.Event()
        self.answering.set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length))
                time.sleep(receiver.delay)
                receiver.answering.wait()
                receiver.bodies.append(body)
                receiver.paths.append(self.path)
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/T0/SECRETPATH"

    def close(self) -> None:
        self.answering.set()
        self.server.shutdown()
        self.server.server_close()
