"""The user's steps on a scratch copy of /etc/apache2: install, a2dismod the stock
modules, a2enmod isbalancer, and a config test of the result."""
import os
import shutil
import subprocess

from harness import BUILD, MODULE, ROOT


def run(cmd, env=None, check=True):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env, check=check)


def test_install_and_a2enmod(tmp_path):
    dest = tmp_path / "dest"
    run(["cmake", "--install", str(BUILD)], env={**os.environ, "DESTDIR": str(dest)})
    installed = {p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file()}
    assert installed == {"usr/lib/apache2/modules/mod_isbalancer.so",
                         "etc/apache2/mods-available/isbalancer.load",
                         "etc/apache2/mods-available/isbalancer.conf",
                         "usr/local/sbin/isbctl"}
    isbctl = dest / "usr/local/sbin/isbctl"
    assert os.access(isbctl, os.X_OK)
    assert isbctl.read_text().startswith("#!/usr/bin/python3\n")
    assert run([str(isbctl), "--help"]).stdout.startswith("NAME\n    isbctl")

    confdir = tmp_path / "apache2"
    shutil.copytree("/etc/apache2", confdir, symlinks=True)
    avail = confdir / "mods-available"
    for f in ("isbalancer.load", "isbalancer.conf"):
        shutil.copy(dest / "etc/apache2/mods-available" / f, avail / f)
    # The scratch config loads the module from the build tree, as a user who
    # installs elsewhere would point the .load file at it.
    load = (avail / "isbalancer.load").read_text()
    assert "LoadModule isbalancer_module /usr/lib/apache2/modules/mod_isbalancer.so" in load
    (avail / "isbalancer.load").write_text(
        load.replace("/usr/lib/apache2/modules/mod_isbalancer.so", str(MODULE)))
    env = {**os.environ, "APACHE_CONFDIR": str(confdir)}
    enabled = confdir / "mods-enabled"

    # An existing stock setup...
    run(["a2enmod", "-q", "proxy_balancer", "lbmethod_byrequests"], env=env)
    # ...is refused while proxy_balancer is on.
    res = run(["a2enmod", "isbalancer"], env=env, check=False)
    assert res.returncode != 0
    assert "proxy_balancer" in res.stdout + res.stderr
    assert not (enabled / "isbalancer.load").exists()

    # The lbmethod modules depend on proxy_balancer, so Debian's a2dismod wants
    # them disabled first (the reverse order fails).
    run(["a2dismod", "-q", "lbmethod_byrequests", "proxy_balancer"], env=env)
    run(["a2enmod", "isbalancer"], env=env)
    for mod in ("isbalancer.load", "isbalancer.conf", "proxy.load", "proxy_http.load"):
        assert (enabled / mod).exists(), mod
    assert not (enabled / "proxy_balancer.load").exists()

    # Debian's own apache2.conf with the module enabled passes a config test.
    from harness import free_port
    (confdir / "ports.conf").write_text(f"Listen 127.0.0.1:{free_port()}\n")
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    envvars = (f". {confdir}/envvars && export APACHE_RUN_DIR={run_dir} "
               f"APACHE_LOCK_DIR={run_dir} APACHE_LOG_DIR={run_dir} "
               f"APACHE_PID_FILE={run_dir}/apache2.pid && ")
    res = subprocess.run(["bash", "-c", envvars + f"/usr/sbin/apache2 -d {confdir} -t"],
                         capture_output=True, text=True, timeout=60, env=env)
    assert res.returncode == 0, res.stderr
    assert "Syntax OK" in res.stderr


def test_configure_fails_clearly_without_httpd_headers(tmp_path):
    # As on a machine without apache2-dev: no apxs.
    res = run(["cmake", "-S", str(ROOT), "-B", str(tmp_path / "b"), "-DAPXS=/nonexistent/apxs",
               "-DISB_BUILD_TESTS=OFF"], check=False)
    assert res.returncode != 0
    assert "apt-get install apache2-dev" in res.stderr


def test_module_exports_only_its_record():
    lines = run(["nm", "-D", "--defined-only", str(MODULE)]).stdout.splitlines()
    assert [line.split()[-1] for line in lines] == ["isbalancer_module"]
