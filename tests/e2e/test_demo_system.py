"""scripts/demo.sh --system: the real user flow (install, a2dismod the stock
modules, a2enmod isbalancer, a2ensite the seed's site, restart apache2) and its
undo, on a scratch copy of /etc/apache2 whose apache2 listens on 127.0.0.1 only.
The system's own apache2 and /usr/lib/apache2/modules are never touched."""
import os
import shutil
import signal
import subprocess
from pathlib import Path

from harness import Client, field, free_port, port_open, wait_for

ROOT = Path(__file__).resolve().parents[2]


def scratch_confdir(tmp):
    conf = tmp / "apache2"
    shutil.copytree("/etc/apache2", conf, symlinks=True)
    run = tmp / "run"
    run.mkdir()
    with open(conf / "envvars", "a") as f:
        f.write(f"\nexport APACHE_RUN_DIR={run} APACHE_LOCK_DIR={run} APACHE_LOG_DIR={run}\n"
                f"export APACHE_PID_FILE={run}/apache2.pid\n")
    (conf / "ports.conf").write_text(f"Listen 127.0.0.1:{free_port()}\n")
    return conf, run


def test_system_mode_installs_enables_and_undoes(tmp_path):
    conf, run_dir = scratch_confdir(tmp_path)
    front = free_port()
    env = dict(os.environ, APACHE_CONFDIR=str(conf), ISB_MODULE_DIR=str(tmp_path / "modules"),
               ISB_DEMO_DIR=str(tmp_path / "demo"), ISB_FRONT_PORT=str(front),
               ISB_FRONT_LISTEN=f"127.0.0.1:{front}", ISB_NODE1_PORT=str(free_port()),
               ISB_NODE2_PORT=str(free_port()))

    def demo(*args):
        return subprocess.run(["bash", str(ROOT / "scripts/demo.sh"), *args], env=env,
                              capture_output=True, text=True, timeout=600)

    # The user's existing stock setup.
    subprocess.run(["a2enmod", "-q", "proxy_balancer", "lbmethod_byrequests"], env=env,
                   check=True, capture_output=True)
    pidfile = run_dir / "apache2.pid"
    try:
        res = demo("start", "--system", "--nodes", "builtin")
        out = res.stdout
        assert res.returncode == 0, out + res.stderr
        for said in ("a2dismod lbmethod_byrequests", "a2dismod proxy_balancer",
                     "a2enmod isbalancer", "a2ensite isbalancer-wso2-is",
                     f"installed {tmp_path}/modules/mod_isbalancer.so",
                     "undo all of it with: scripts/demo.sh undo-system",
                     "the balancer-manager lists both members"):
            assert said in out, (said, out)
        enabled = conf / "mods-enabled"
        assert (enabled / "isbalancer.load").exists() and (enabled / "ssl.load").exists()
        assert not (enabled / "proxy_balancer.load").exists()
        assert (conf / "sites-enabled" / "isbalancer-wso2-is.conf").exists()
        assert "LoadModule isbalancer_module" in (conf / "mods-available/isbalancer.load").read_text()

        # The "system" apache2 serves the seed's site with mod_isbalancer.
        cl = Client(front, tls_ca=tmp_path / "demo" / "certs" / "ca.crt")
        nodes = {field(cl.request("/")[2], "backend") for _ in range(6)}
        assert nodes == {"isNode1", "isNode2"}

        res = demo("undo-system")
        assert res.returncode == 0, res.stdout + res.stderr
        assert not (enabled / "isbalancer.load").exists()
        assert not (enabled / "ssl.load").exists()
        assert (enabled / "proxy_balancer.load").exists()
        assert (enabled / "lbmethod_byrequests.load").exists()
        assert not (conf / "sites-available" / "isbalancer-wso2-is.conf").exists()
        assert not (conf / "mods-available" / "isbalancer.load").exists()
        assert not (tmp_path / "modules" / "mod_isbalancer.so").exists()
        assert not (conf / "isbalancer-certs").exists()
        # Restarted on the user's stock configuration: the front is gone.
        wait_for(lambda: not port_open(front), timeout=10, what="front to close")
    finally:
        demo("stop")
        if pidfile.exists():
            pid = int(pidfile.read_text())
            os.kill(pid, signal.SIGTERM)

            def gone():
                try:
                    os.kill(pid, 0)
                    return False
                except ProcessLookupError:
                    return True
            wait_for(gone, timeout=20, what="scratch apache2 to stop")
