#!/usr/bin/python3
"""A small real HTTP(S) backend for the integration tests and the demo.

Every response says which backend answered (body line "backend=NAME" and header
X-Backend). Like a Tomcat node with a jvmRoute, it issues
"JSESSIONID=<id>.<route>" to a client that has no session, and keeps a per-session
counter so a test can see a session stay on one node.

Paths:
  /status/NNN      answer with status NNN
  /redirect        302 to http://<host>:<port>/target (for ProxyPassReverse)
  /sleep/MS        wait MS milliseconds first (bounded to 30 s)
  /sleepif/NAME/MS the same, but only on the backend named NAME (one slow member)
  /health          the health status set last (200 at start), for health checks
  /health/set/NNN  from now on /health answers NNN (a node that starts failing)
  /fail/set/NNN[/P] from now on every other path answers NNN (P % of them, spread
                   evenly; 100 when not given); /fail/set/0 ends it
  anything else    200; a request body is read and its length reported
"""
import argparse
import http.server
import os
import secrets
import socketserver
import ssl
import sys
import threading
import time
import urllib.parse

COUNTERS = {}
LOCK = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; without this, Nagle's algorithm and a
    # delayed ACK hold the body back 40 ms on a reused connection.
    disable_nagle_algorithm = True
    server_version = "isb-test-backend"

    def log_message(self, fmt, *args):  # keep test output quiet
        pass

    def _session(self):
        cookie = self.headers.get("Cookie", "")
        for part in cookie.split(";"):
            name, _, value = part.strip().partition("=")
            if name == "JSESSIONID" and value:
                return value, False
        path = urllib.parse.urlsplit(self.path).path
        if ";jsessionid=" in path:
            return path.split(";jsessionid=", 1)[1].split(";")[0].split("/")[0], False
        return f"{secrets.token_hex(8).upper()}.{self.server.route}", True

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body_in = self.rfile.read(length) if length > 0 else b""
        path = urllib.parse.urlsplit(self.path).path
        status = 200
        extra = []
        if path.startswith("/status/"):
            try:
                status = int(path.split("/")[2])
            except ValueError:
                status = 400
        elif path.startswith("/sleep/") or path.startswith("/sleepif/"):
            parts = path.split("/")
            if parts[1] == "sleepif":
                parts = parts[1:] if len(parts) > 3 and parts[2] == self.server.name else None
            try:
                if parts:
                    time.sleep(min(int(parts[2]), 30000) / 1000.0)
            except ValueError:
                status = 400
        elif path == "/health":
            status = self.server.health
        elif path.startswith("/health/set/"):
            try:
                self.server.health = int(path.split("/")[3])
            except ValueError:
                status = 400
        elif path.startswith("/fail/set/"):
            parts = path.split("/")
            try:
                fail = int(parts[3]), int(parts[4]) if len(parts) > 4 else 100
            except ValueError:
                status = 400
            else:
                with LOCK:
                    self.server.fail, self.server.fail_percent = fail
                    self.server.fail_seen = 0
        elif path == "/redirect":
            status = 302
            extra.append(("Location", f"http://127.0.0.1:{self.server.server_port}/target"))
        if self.server.fail and not path.startswith(("/health", "/fail/set/")):
            with LOCK:
                # P % of answers fail, spread evenly: the n-th fails when
                # floor(n * P / 100) moves.
                n = self.server.fail_seen = self.server.fail_seen + 1
                if n * self.server.fail_percent // 100 != (n - 1) * self.server.fail_percent // 100:
                    status = self.server.fail
        session, new = self._session()
        with LOCK:
            COUNTERS[session] = COUNTERS.get(session, 0) + 1
            count = COUNTERS[session]
        body = (
            f"backend={self.server.name}\nroute={self.server.route}\n"
            f"session={session}\ncount={count}\nbody={len(body_in)}\n"
            f"path={self.path}\nlink=/index.jsp;jsessionid={session}\n"
        ).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Backend", self.server.name)
        if new and self.server.route:
            self.send_header("Set-Cookie", f"JSESSIONID={session}; Path=/; HttpOnly")
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _answer


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--route", default="")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    args = ap.parse_args()
    srv = Server(("127.0.0.1", args.port), Handler)
    srv.name = args.name
    srv.route = args.route
    srv.health = 200
    srv.fail, srv.fail_percent, srv.fail_seen = 0, 100, 0
    if args.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.cert, args.key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print(f"ready {os.getpid()}", flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
