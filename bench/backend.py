#!/usr/bin/python3
"""A fast HTTP/1.1 keep-alive backend for the benchmarks (asyncio, one process).

tests/integration/backend.py is a thread-per-connection http.server: correct, but
it saturates at a few thousand requests per second, so every front would measure
the same backend. This one parses just enough HTTP/1.1 (request line, headers,
Content-Length, pipelining) to answer GETs quickly, so the front is what costs.

Every answer is 200 with a small body and "X-Backend: NAME". With --delay-ms every
answer waits that long first (a slow member). GET /__count answers the number of
requests served so far (not counted itself), so the harness can read each
member's share without any client-side bookkeeping.

GET /__fail/NNN/P makes P % of the answers from then on status NNN instead (spread
evenly: with P=50 every second one; the same body and X-Backend), GET
/__fail/NNN/P/random the same at random (each answer fails with probability P %,
from a fixed seed), GET /__fail/0 ends it; all answer 200 and are not counted. A
member that starts failing under load, switched by the harness at a chosen time.
--fail NNN/P[/random] starts that way.

  bench/backend.py --port P --name NAME [--delay-ms MS] [--fail NNN/P[/random]]
"""
import argparse
import asyncio
import os
import random
import sys

HEAD_LIMIT = 64 * 1024


REASONS = {200: b"OK", 500: b"Internal Server Error", 502: b"Bad Gateway",
           503: b"Service Unavailable", 504: b"Gateway Timeout"}


class Backend(asyncio.Protocol):
    served = 0
    fail_status = 0   # 0: every answer is 200
    fail_percent = 0  # of the answers from when failing was set
    fail_seen = 0     # answers since then
    fail_random = None  # a random.Random when failing at random, else evenly

    @staticmethod
    def set_fail(spec):
        """spec "NNN/P[/random]" or "NNN" (P=100) or "0"; raises ValueError on anything
        else."""
        parts = spec.strip("/").split("/")
        status = int(parts[0])
        percent = int(parts[1]) if len(parts) > 1 else 100
        at_random = len(parts) > 2 and parts[2] == "random"
        if (status and (status not in REASONS or not 0 <= percent <= 100) or len(parts) > 3
                or (len(parts) > 2 and not at_random)):
            raise ValueError(spec)
        Backend.fail_status, Backend.fail_percent, Backend.fail_seen = status, percent, 0
        Backend.fail_random = random.Random(1) if at_random else None

    def __init__(self, name, delay):
        self.name = name.encode()
        self.delay = delay
        self.buf = bytearray()
        self.transport = None
        self.queue = None  # with a delay: answers in order, one task per connection

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > HEAD_LIMIT:
                    self.transport.close()
                return
            head = bytes(self.buf[:end])
            body_len = 0
            close = False
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    body_len = int(value.strip() or 0)
                elif name == b"connection" and value.strip().lower() == b"close":
                    close = True
            if len(self.buf) < end + 4 + body_len:
                return
            del self.buf[:end + 4 + body_len]
            path = head.split(b" ", 2)[1] if head.count(b" ") >= 2 else b"/"
            self.answer(path, close)

    def response(self, path, close):
        status = 200
        if path == b"/__count":
            body = b"%d\n" % Backend.served
        elif path.startswith(b"/__fail/"):
            try:
                Backend.set_fail(path[len(b"/__fail/"):].decode())
                body = b"fail %d/%d\n" % (Backend.fail_status, Backend.fail_percent)
            except ValueError:
                status, body = 400, b"bad /__fail\n"
        else:
            Backend.served += 1
            body = b"backend=" + self.name + b"\n"
            if Backend.fail_status:
                # The n-th answer fails when floor(n * P / 100) moves: spread evenly.
                n = Backend.fail_seen = Backend.fail_seen + 1
                p = Backend.fail_percent
                if Backend.fail_random is not None:
                    if Backend.fail_random.random() * 100 < p:
                        status = Backend.fail_status
                elif n * p // 100 != (n - 1) * p // 100:
                    status = Backend.fail_status
        return (b"HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nX-Backend: " % (
            status, REASONS.get(status, b"Bad Request")) + self.name +
                b"\r\nContent-Length: %d\r\n%s\r\n" % (len(body), b"Connection: close\r\n"
                                                       if close else b"") + body)

    def answer(self, path, close):
        if not self.delay or path == b"/__count":
            if self.queue is None:
                self.transport.write(self.response(path, close))
                if close:
                    self.transport.close()
                return
        if self.queue is None:
            self.queue = asyncio.Queue()
            asyncio.get_running_loop().create_task(self.drain())
        self.queue.put_nowait((path, close))

    async def drain(self):
        while True:
            path, close = await self.queue.get()
            if self.delay and path != b"/__count":
                await asyncio.sleep(self.delay)
            if self.transport.is_closing():
                return
            self.transport.write(self.response(path, close))
            if close:
                self.transport.close()
                return


async def serve(args):
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Backend(args.name, args.delay_ms / 1000.0),
                                      "127.0.0.1", args.port, backlog=4096, reuse_address=True)
    print(f"ready {os.getpid()}", flush=True)
    async with server:
        await server.serve_forever()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--delay-ms", type=float, default=0.0)
    ap.add_argument("--fail", default="0",
                    help="NNN/P[/random]: P %% of answers are NNN from the start")
    args = ap.parse_args()
    try:
        Backend.set_fail(args.fail)
    except ValueError:
        ap.error(f"--fail {args.fail}: want NNN/P[/random], NNN one of {sorted(REASONS)[1:]}")
    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
