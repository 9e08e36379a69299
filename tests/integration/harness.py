"""Real httpd instances and real backends for the integration tests.

Every server listens on 127.0.0.1 on a free port, runs from a generated config
in its own temporary ServerRoot, and is stopped by the PID we started. Every
wait is bounded.
"""
import http.client
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("ISB_BUILD_DIR", ROOT / "build"))
MODULE = Path(os.environ.get("ISB_MODULE", BUILD / "mod_isbalancer.so"))
HTTPD = os.environ.get("ISB_HTTPD", "/usr/sbin/apache2")
MODDIR = Path(os.environ.get("ISB_HTTPD_MODULES", "/usr/lib/apache2/modules"))
PYTHON = "/usr/bin/python3"
BACKEND = Path(__file__).with_name("backend.py")
RUN_USER = os.environ.get("ISB_RUN_USER", "www-data")
# A sanitized module (scripts/sanitize.sh) needs the sanitizer runtime preloaded into
# httpd, which is not instrumented itself: ISB_SANITIZER_RUNTIME names that shared
# library. Reports go to files named after the instance in ISB_SANITIZER_LOG_DIR (or
# the instance's own directory); any such file fails the test (conftest.py).
SANITIZER_RUNTIME = os.environ.get("ISB_SANITIZER_RUNTIME", "")
SANITIZER_LOG_DIR = os.environ.get("ISB_SANITIZER_LOG_DIR", "")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred, timeout=10.0, step=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


def dead_or_zombie(pid):
    """Whether process `pid` is gone or a zombie (killed, not yet reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def terminate(proc, grace=20):
    """SIGTERM `proc` (an httpd parent stops its children on it), SIGKILL it if it
    has not exited within `grace` seconds, and reap it."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


class Backend:
    """backend.py in its own process, so a test can kill it like a crashed node."""

    def __init__(self, name, route="", tls=None, port=None):
        self.name, self.route, self.tls = name, route, tls
        self.port = port or free_port()
        self.proc = None

    @property
    def url(self):
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def start(self):
        cmd = [PYTHON, str(BACKEND), "--port", str(self.port), "--name", self.name,
               "--route", self.route]
        if self.tls:
            cmd += ["--cert", str(self.tls[0]), "--key", str(self.tls[1])]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("ready"):
            raise RuntimeError(f"backend {self.name} failed: {self.proc.stderr.read()}")
        wait_for(lambda: port_open(self.port), what=f"backend {self.name} port")
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None
        wait_for(lambda: not port_open(self.port), what=f"backend {self.name} closed")


BASE_MODULES = ["authz_core", "authz_host", "headers", "proxy", "proxy_http",
                "env", "setenvif"]


class Httpd:
    """One httpd instance from a generated config in a temporary ServerRoot."""

    def __init__(self, body, mpm="event", modules=(), tls=False, port=None, load_isb=True,
                 extra_top=""):
        self.root = Path(tempfile.mkdtemp(prefix="isb-httpd-"))
        os.chmod(self.root, 0o755)
        self.port = port or free_port()
        self.mpm = mpm
        self.tls = tls
        self.body = body
        self.modules = list(BASE_MODULES) + list(modules) + (["ssl", "socache_shmcb"] if tls else [])
        self.load_isb = load_isb
        self.extra_top = extra_top
        self.error_log = self.root / "error.log"
        self.access_log = self.root / "access.log"
        self.pidfile = self.root / "httpd.pid"
        self.conf = self.root / "httpd.conf"
        self.proc = None
        self.started_at = 0.0
        self.sanitizer_dir = Path(SANITIZER_LOG_DIR) if SANITIZER_LOG_DIR else self.root / "san"
        self.write_config()

    @property
    def base(self):
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def write_config(self, body=None):
        if body is not None:
            self.body = body
        loads = [f"LoadModule mpm_{self.mpm}_module {MODDIR}/mod_mpm_{self.mpm}.so"]
        # Like Debian's mods-enabled: our module sorts before proxy.
        if self.load_isb:
            loads.append(f"LoadModule isbalancer_module {MODULE}")
        for m in self.modules:
            loads.append(f"LoadModule {m}_module {MODDIR}/mod_{m}.so")
        if self.mpm == "prefork":
            procs = "StartServers 3\nMinSpareServers 3\nMaxSpareServers 6\nMaxRequestWorkers 40\n"
        else:
            procs = ("StartServers 2\nMinSpareThreads 8\nMaxSpareThreads 64\nThreadsPerChild 8\n"
                     "ServerLimit 4\nMaxRequestWorkers 32\nThreadLimit 8\n")
        self.conf.write_text(f"""
ServerRoot "{self.root}"
ServerName 127.0.0.1
Listen 127.0.0.1:{self.port}
PidFile "{self.pidfile}"
DefaultRuntimeDir "{self.root}"
ErrorLog "{self.error_log}"
LogLevel warn
User {RUN_USER}
Group {RUN_USER}
{chr(10).join(loads)}
{procs}
LogFormat "%h %P \\"%r\\" %>s name=%{{BALANCER_NAME}}e worker=%{{BALANCER_WORKER_NAME}}e wroute=%{{BALANCER_WORKER_ROUTE}}e sticky=%{{BALANCER_SESSION_STICKY}}e sroute=%{{BALANCER_SESSION_ROUTE}}e changed=%{{BALANCER_ROUTE_CHANGED}}e" isb
CustomLog "{self.access_log}" isb
KeepAliveTimeout 2
Timeout 10
{self.extra_top}
{self.body}
""")

    @property
    def env(self):
        """The environment httpd runs with: ours, plus the sanitizer runtime and its
        options when the module is a sanitized build. Leak detection is off: httpd
        is not instrumented and leaves its own process-lifetime allocations to exit,
        and LeakSanitizer cannot inspect children that dropped root."""
        env = dict(os.environ)
        if SANITIZER_RUNTIME:
            self.sanitizer_dir.mkdir(parents=True, exist_ok=True)
            os.chmod(self.sanitizer_dir, 0o1777)  # children run as RUN_USER
            log = self.sanitizer_dir / self.root.name
            env["LD_PRELOAD"] = SANITIZER_RUNTIME
            env["ASAN_OPTIONS"] = f"detect_leaks=0:halt_on_error=1:log_path={log}"
            env["UBSAN_OPTIONS"] = f"print_stacktrace=1:halt_on_error=1:log_path={log}"
        return env

    def sanitizer_reports(self):
        """{file: text} of the sanitizer reports this instance wrote."""
        if not SANITIZER_RUNTIME or not self.sanitizer_dir.exists():
            return {}
        return {str(f): f.read_text(errors="replace")
                for f in sorted(self.sanitizer_dir.glob(self.root.name + ".*"))}

    def _ctl(self, *args, check=True):
        return subprocess.run([HTTPD, "-d", str(self.root), "-f", str(self.conf), *args],
                              capture_output=True, text=True, timeout=60, check=check,
                              env=self.env)

    def start(self):
        """Start httpd in the foreground as our child, so that we can reap it even
        after a SIGKILL; wait (bounded) until it listens."""
        rc, err = self.try_start()
        if rc != 0:
            raise RuntimeError(f"httpd failed to start ({rc}):\n{err}\n{self.log_tail()}")
        return self

    def try_start(self):
        """Start; return (0, "") once listening, or (exit code, stderr) if it quit."""
        self.proc = subprocess.Popen(
            [HTTPD, "-d", str(self.root), "-f", str(self.conf), "-DFOREGROUND"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=self.env,
            # prefork signals its whole process group on stop; keep us out of it.
            start_new_session=True)
        try:
            wait_for(lambda: self.proc.poll() is not None or
                     (self.pidfile.exists() and port_open(self.port)),
                     timeout=20, what="httpd to listen")
        except TimeoutError:
            self.proc.kill()
            self.proc.wait(timeout=10)
            raise
        if self.proc.poll() is not None:
            err = self.proc.stderr.read()
            rc = self.proc.returncode
            self.proc = None
            return rc or 1, err
        self.started_at = time.monotonic()
        return 0, ""

    @property
    def pid(self):
        return int(self.pidfile.read_text().strip())

    def child_pids(self):
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.pid)], capture_output=True,
                             text=True).stdout
        return [int(x) for x in out.split()]

    def graceful(self, body=None):
        if body is not None:
            self.write_config(body)
        old_gen = self.error_log.read_text().count("resuming normal operations")
        self._ctl("-k", "graceful")
        wait_for(lambda: self.error_log.read_text().count("resuming normal operations") > old_gen,
                 timeout=20, what="graceful restart")
        wait_for(lambda: port_open(self.port), timeout=10, what="httpd after graceful")
        self.started_at = time.monotonic()

    def stop(self):
        if getattr(self, "proc", None) is None:
            return
        if self.proc.poll() is None:
            # httpd 2.4.71's event MPM can crash a child that is told to stop
            # while it is still starting (a NULL listener in apr_os_sock_get at
            # shutdown; no module code on the stack). Give children a moment
            # to finish starting so that a crash we see is a real one: longer
            # with the sanitizer runtime preloaded, which slows every start (a
            # clean-clone CI run saw a child crash at SIGTERM 1.06 s after start).
            grace = 2.0 if SANITIZER_RUNTIME else 1.0
            time.sleep(max(0.0, self.started_at + grace - time.monotonic()))
            self._wait_children_started()
            terminate(self.proc)
        self.proc = None

    def _threads_per_child(self):
        found = re.findall(r"^\s*ThreadsPerChild\s+(\d+)", self.conf.read_text(errors="replace"), re.M)
        return int(found[-1]) if found else 25

    def _wait_children_started(self, timeout=5.0):
        """Event MPM: wait (bounded) until every child runs its listener and all its
        workers and its start thread has gone, i.e. has main + listener +
        ThreadsPerChild threads on two reads 100 ms apart. A child the MPM spawned
        under load just before the stop is covered as well as the first ones. On
        timeout (a start thread waiting for scoreboard slots that an old
        generation still holds, say) the stop goes ahead as before."""
        if self.mpm != "event":
            return
        want = self._threads_per_child() + 2

        def threads():
            counts = []
            for pid in self.child_pids():
                try:
                    counts.append(len(os.listdir(f"/proc/{pid}/task")))
                except FileNotFoundError:
                    pass
            return counts

        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            now = threads()
            if now and all(n >= want for n in now) and now == last:
                return
            last = now
            time.sleep(0.1)

    def kill9(self):
        """SIGKILL the parent and its children, as a crash would, and reap them."""
        victims = self.child_pids()
        self.proc.kill()
        self.proc.wait(timeout=10)
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc = None
        wait_for(lambda: not port_open(self.port), timeout=10, what="killed httpd to close")

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self, n=30):
        if not self.error_log.exists():
            return "(no error log)"
        return "\n".join(self.error_log.read_text(errors="replace").splitlines()[-n:])

    def log_problems(self, allowed=()):
        """[error]/[warn]/[crit]/[alert]/[emerg] lines not matched by `allowed`, plus
        any sign of a crashed child."""
        if not self.error_log.exists():
            return []
        bad = []
        for line in self.error_log.read_text(errors="replace").splitlines():
            crashed = "exit signal" in line or "Segmentation fault" in line
            if not crashed and not re.search(r"\[[a-z_]+:(warn|error|crit|alert|emerg)\]", line):
                continue
            if not crashed and any(re.search(a, line) for a in allowed):
                continue
            bad.append(line)
        return bad

    def access_entries(self, at_least=0):
        """Access-log lines; waits (bounded) until there are `at_least` of them, since
        httpd logs a request only after its response has gone out."""
        def read():
            return self.access_log.read_text().splitlines() if self.access_log.exists() else []
        if at_least:
            wait_for(lambda: len(read()) >= at_least, timeout=5, what="access log lines")
        return read()


class Client:
    """HTTP(S) client on a fresh connection per request unless keep-alive is asked."""

    def __init__(self, port, tls_ca=None):
        self.port = port
        self.ctx = None
        if tls_ca:
            self.ctx = ssl.create_default_context(cafile=str(tls_ca))

    def request(self, path="/", method="GET", headers=None, body=None, conn=None):
        own = conn is None
        if own:
            conn = self.connect()
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read().decode(errors="replace")
            return resp.status, dict(resp.getheaders()), data, resp.getheader("Set-Cookie")
        finally:
            if own:
                conn.close()

    def connect(self):
        if self.ctx:
            return http.client.HTTPSConnection("localhost", self.port, context=self.ctx,
                                               timeout=30)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)


def read_to_close(sock):
    """Everything the server sends on `sock` until it closes the connection."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def field(body, name):
    for line in body.splitlines():
        if line.startswith(name + "="):
            return line.split("=", 1)[1]
    return None


def new_sessions(client, n, path="/", route_field="backend"):
    """n new sessions: {JSESSIONID=... cookie: node that issued it}. Each cookie's
    route (after the '.') must be the issuing node's own."""
    sessions = {}
    for _ in range(n):
        status, _, body, cookie = client.request(path)
        assert status == 200, body
        session = cookie.split(";")[0]
        assert session.startswith("JSESSIONID=") and session.endswith(
            "." + field(body, route_field)), (session, body)
        sessions[session] = field(body, "backend")
    return sessions


def make_certs(directory):
    """A local CA and a server certificate for localhost/127.0.0.1 (P-256)."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    run = lambda *a: subprocess.run(a, check=True, capture_output=True, cwd=d, timeout=60)
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=isb test CA")
    run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost")
    (d / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run("openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "san.ext")
    for f in ("ca.key", "server.key"):
        os.chmod(d / f, 0o600)
    return d / "ca.crt", d / "server.crt", d / "server.key"


# What mod_proxy logs when a member refuses connections or was just marked in
# error by another thread: expected in every test that stops a member.
MEMBER_DOWN = [r"AH00957", r"AH00959", r"AH01114", r"AH02646", r"AH00940"]


# The balancer-manager at /balancer-manager, for clients on this machine, with
# ProxyPass / leaving it alone.
MANAGER = """
ProxyPass "/balancer-manager" !
<Location "/balancer-manager">
    SetHandler balancer-manager
    Require local
</Location>
"""


def balancer_conf(members, name="c", proxyset="", proxypass="", extra=""):
    """<Proxy balancer://name> with BalancerMember lines, then ProxyPass / to it."""
    lines = [f'<Proxy "balancer://{name}">']
    for url, params in members:
        lines.append(f'    BalancerMember "{url}" {params}')
    if proxyset:
        lines.append(f"    ProxySet {proxyset}")
    lines.append("</Proxy>")
    lines.append(extra)
    lines.append(f'ProxyPass "/" "balancer://{name}/" {proxypass}')
    lines.append(f'ProxyPassReverse "/" "balancer://{name}/"')
    return "\n".join(lines)
