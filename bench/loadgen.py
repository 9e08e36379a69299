"""A fixed-rate (open-loop) HTTP/1.1 load generator on asyncio.

wrk keeps N connections busy (closed loop): when the server slows down, wrk sends
less, and a slow member hides its own cost. Here request i is due at t0 + i/rate
whatever happened before, and its latency is measured from that due time, so
waiting for a free connection counts (no coordinated omission). Connections are
keep-alive and reused last-in first-out; at most `max_conns` are open at once.

Used by bench/suite.py for the slow-member and failover benchmarks. A Python client
tops out at a few thousand requests per second on one core, well above the rates
used there; the achieved rate is reported next to the offered one.
"""
import asyncio
from dataclasses import dataclass


@dataclass
class Result:
    due: float      # seconds after t0 when the request was due
    latency: float  # seconds from due time to the end of the response (or error)
    status: int     # HTTP status, 0 for a connection error or timeout
    backend: str    # X-Backend of the answer, "" if none


async def _request(conn, request, timeout):
    reader, writer = conn
    writer.write(request)
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length, backend, close = 0, "", False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value.strip())
        elif name == b"x-backend":
            backend = value.strip().decode()
        elif name == b"connection" and b"close" in value.lower():
            close = True
    if length:
        await asyncio.wait_for(reader.readexactly(length), timeout)
    return status, backend, close


async def run(port, path, rate, duration, headers=None, events=(), max_conns=256, timeout=10.0):
    """Sends rate*duration GETs to 127.0.0.1:port/path at a fixed rate; returns
    (results, t0) with t0 the loop time of the first due time. `events` are
    (seconds after t0, coroutine function) run at that time (for example stopping
    a member)."""
    loop = asyncio.get_running_loop()
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}\r\n".encode()
    pool = asyncio.LifoQueue()
    for _ in range(max_conns):
        pool.put_nowait(None)  # a slot without an open connection yet
    results = []
    t0 = loop.time() + 0.05

    async def one(due):
        conn = await pool.get()
        status, backend = 0, ""
        try:
            if conn is None or conn[1].is_closing():
                conn = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
            status, backend, close = await _request(conn, request, timeout)
            if close:
                conn[1].close()
                conn = None
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError,
                IndexError, asyncio.LimitOverrunError):
            if conn is not None:
                conn[1].close()
            conn = None
        results.append(Result(due - t0, loop.time() - due, status, backend))
        pool.put_nowait(conn)

    event_tasks = [loop.create_task(_at(loop, t0 + at, fn)) for at, fn in events]
    tasks = []
    n = int(rate * duration)
    for i in range(n):
        due = t0 + i / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(loop.create_task(one(due)))
    if tasks:
        await asyncio.wait(tasks, timeout=timeout + 5)
    for t in event_tasks:
        await asyncio.wait_for(t, timeout=60)
    while not pool.empty():
        conn = pool.get_nowait()
        if conn is not None:
            conn[1].close()
    results.sort(key=lambda r: r.due)
    return results, t0


async def _at(loop, when, fn):
    await asyncio.sleep(max(0.0, when - loop.time()))
    await fn()


def percentile(values, p):
    """Nearest-rank percentile of a list (p in 0..100); None when empty."""
    if not values:
        return None
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]
