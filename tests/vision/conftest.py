"""Fixtures for the vision tests: a local HTTP server for the download paths."""

import http.server
import threading

import pytest


class Handler(http.server.BaseHTTPRequestHandler):
    """Serves ``self.server.files``: name -> bytes, or name -> (bytes, declared_length) for a
    transfer cut short (the header promises more than is sent)."""

    def do_GET(self):
        entry = self.server.files.get(self.path.lstrip("/"))
        if entry is None:
            self.send_error(404)
            return
        body, length = entry if isinstance(entry, tuple) else (entry, len(entry))
        self.send_response(200)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def http_files():
    """A server on 127.0.0.1; yields (base_url, files dict to fill)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.files = {}
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", server.files
    server.shutdown()
    server.server_close()
