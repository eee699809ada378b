"""A real HTTP server on 127.0.0.1 whose pages tests change between fetches."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Routes(dict):
    """path -> callable(handler) returning (status, headers, body) or a plain tuple."""

    def __init__(self):
        super().__init__()
        self.hits: dict[str, int] = {}


def _handler_class(routes: Routes):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the stdlib's name
            path = self.path.split("?")[0]
            routes.hits[path] = routes.hits.get(path, 0) + 1
            route = routes.get(path)
            status, headers, body = route(self) if callable(route) else route or (404, {}, b"")
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    return Handler


class LocalServer:
    def __init__(self):
        self.routes = Routes()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(self.routes))
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def page(self, path: str, html: str, **headers):
        self.routes[path] = (
            200,
            {"Content-Type": "text/html; charset=utf-8", **headers},
            html.encode(),
        )

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
