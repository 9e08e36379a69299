"""BalancerPersist's state file against a real httpd (User www-data, DefaultRuntimeDir
root-owned 0755 in the temporary ServerRoot, as in a real install): an edit
answered with 200 is on disk before the answer, even across kill -9; the root
parent never follows a planted symlink nor blocks on a FIFO; a file cut short,
damaged or oversized is refused as a whole; an older build's complete version-1
file is still read, once."""
import os
import pwd
import stat
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

from harness import RUN_USER, Httpd
from test_manager_edit import MANAGER, Manager, conf

PERSIST = "BalancerPersist On\n"


def state_dir(h):
    return h.root / "mod_isbalancer"


def new_state(h):
    return state_dir(h) / "state"


def old_state(h):
    return h.root / "mod_isbalancer.state"


def saved_state(h):
    """The state file this build wrote (the old place for builds before version 2)."""
    return new_state(h) if new_state(h).exists() else old_state(h)


def enc(url):
    return url.replace(":", "%3A").replace("/", "%2F")


def start_edited(backends, httpd, **fields):
    """httpd with BalancerPersist On and members a (n1), b (n2); b edited."""
    a, b = backends(("a", "n1"), ("b", "n2"))
    h = httpd(conf([(a.url, "route=n1"), (b.url, "route=n2")], top=PERSIST))
    status, _, body, _ = Manager(h).post({"w": b.url, **fields})
    assert status == 200, body
    return h, a, b


def scope_of_main_server(h):
    """The scope the module writes for the harness's main server, read back from a
    state file it wrote."""
    for line in saved_state(h).read_text().splitlines():
        if "\t" in line:
            return line.split("\t", 1)[0]
    raise AssertionError("no edit line in " + saved_state(h).read_text())


def make_root_file(path, text="precious root data\n"):
    path.write_text(text)
    os.chown(path, 0, 0)
    os.chmod(path, 0o644)
    st = path.stat()
    return (text, st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode))


def root_file_as_it_was(path, before):
    st = os.lstat(path)
    return (not stat.S_ISLNK(st.st_mode) and
            (path.read_text(), st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == before)


def test_an_edit_is_on_disk_before_its_200_and_survives_kill9(backends, httpd):
    h, a, b = start_edited(backends, httpd, w_lf="42", w_wr="x2")
    # No restart and no stop has happened: the child wrote it, durably.
    d = state_dir(h).lstat()
    assert stat.S_ISDIR(d.st_mode) and stat.S_IMODE(d.st_mode) == 0o700
    assert d.st_uid == pwd.getpwnam(RUN_USER).pw_uid
    assert "w_lf=42" in new_state(h).read_text()
    assert not (state_dir(h) / "state.new").exists()
    h.allowed.append(r"AH00098")  # pid file left by the kill
    h.kill9()
    h.start()
    m = Manager(h).member(b.url)
    assert (m["loadfactor"], m["route"]) == (42, "x2")
    assert "ISB00023" in h.error_log.read_text()


def test_edits_of_two_balancers_from_many_clients_are_all_kept(backends, httpd):
    """Writers of different balancers (different edit locks) serialise on the
    directory's flock and render under it, so no edit is lost."""
    a, b = backends(("a", "n1"), ("b", "n2"))
    body = PERSIST + f"""
<Proxy "balancer://c">
    BalancerMember "{a.url}" route=n1
</Proxy>
<Proxy "balancer://d">
    BalancerMember "{b.url}" route=n2
</Proxy>
ProxyPass "/balancer-manager" !
ProxyPass "/d/" "balancer://d/"
ProxyPass "/" "balancer://c/"
""" + MANAGER
    h = httpd(body, mpm="prefork")
    def edit(i):
        mgr = Manager(h, "c" if i % 2 == 0 else "d")
        url = a.url if i % 2 == 0 else b.url
        return mgr.post({"w": url, "w_lf": str(10 + i)})[0]

    for rnd in range(3):
        with ThreadPoolExecutor(6) as pool:
            assert list(pool.map(edit, range(rnd * 6, rnd * 6 + 6))) == [200] * 6
    want_c = Manager(h, "c").member(a.url)["loadfactor"]
    want_d = Manager(h, "d").member(b.url)["loadfactor"]
    assert want_c != 1 and want_d != 1
    h.allowed.append(r"AH00098")  # pid file left by the kill
    h.kill9()
    h.start()
    assert Manager(h, "c").member(a.url)["loadfactor"] == want_c
    assert Manager(h, "d").member(b.url)["loadfactor"] == want_d


def test_a_symlink_at_the_temp_file_name_is_never_followed(backends, httpd, tmp_path):
    target = tmp_path / "root-owned"
    before = make_root_file(target)
    a, b = backends(("a", "n1"), ("b", "n2"))
    h = httpd(conf([(a.url, "route=n1"), (b.url, "route=n2")], top=PERSIST), start=False)
    os.symlink(target, h.root / "mod_isbalancer.state.new")
    h.start()
    assert Manager(h).post({"w": b.url, "w_lf": "7"})[0] == 200
    h.stop()
    assert root_file_as_it_was(target, before)
    assert not old_state(h).is_symlink()
    # And a planted symlink in our own directory (only the httpd user could) is
    # replaced, never followed.
    os.symlink(target, state_dir(h) / "state.new")
    h.start()
    assert Manager(h).member(b.url)["loadfactor"] == 7
    assert Manager(h).post({"w": b.url, "w_lf": "8"})[0] == 200
    h.stop()
    assert root_file_as_it_was(target, before)
    assert not new_state(h).is_symlink() and "w_lf=8" in new_state(h).read_text()


def test_a_symlink_at_the_state_file_name_is_refused(backends, httpd, tmp_path):
    a, b = backends(("a", "n1"), ("b", "n2"))
    h = httpd(conf([(a.url, "route=n1"), (b.url, "route=n2")], top=PERSIST), start=False)
    # A root-owned file that happens to look like a state file: never read through a link.
    target = tmp_path / "root-owned"
    before = make_root_file(target, "isbalancer-state 1\n"
                            f"127.0.0.1:0\tb=c&w={enc(b.url)}&w_lf=9\n")
    os.symlink(target, old_state(h))
    h.allowed = [r"ISB00043"]
    h.start()
    assert Manager(h).member(b.url)["loadfactor"] == 1
    assert Manager(h).post({"w": b.url, "w_lf": "7"})[0] == 200
    h.stop()
    assert root_file_as_it_was(target, before)
    log = h.error_log.read_text()
    assert "ISB00043" in log and "is a symbolic link" in log
    # The same in the new place: refused, moved aside, the target untouched.
    new_state(h).unlink()
    os.symlink(target, new_state(h))
    h.start()
    assert Manager(h).member(b.url)["loadfactor"] == 1
    h.stop()
    assert root_file_as_it_was(target, before)
    assert (state_dir(h) / "state.refused").is_symlink()


def test_a_symlink_or_a_foreign_directory_as_our_directory_is_refused(backends, httpd,
                                                                      tmp_path):
    victim = tmp_path / "victim"
    victim.mkdir(mode=0o755)
    os.chown(victim, 0, 0)
    a, b = backends(("a", "n1"), ("b", "n2"))
    h = httpd(conf([(a.url, "route=n1"), (b.url, "route=n2")], top=PERSIST), start=False)
    os.symlink(victim, state_dir(h))
    h.allowed = [r"ISB00044", r"ISB00024"]
    h.start()
    status, _, body, _ = Manager(h).post({"w": b.url, "w_lf": "7"})
    assert status == 500 and "could not be saved" in body and "Applied, not saved" in body
    h.stop()
    st = victim.stat()
    assert (st.st_uid, stat.S_IMODE(st.st_mode), os.listdir(victim)) == (0, 0o755, [])
    log = h.error_log.read_text()
    assert "ISB00044" in log and "is a symbolic link" in log


def test_a_fifo_at_the_state_path_does_not_hang_the_start(backends, httpd):
    a, b = backends(("a", "n1"), ("b", "n2"))
    h = httpd(conf([(a.url, "route=n1"), (b.url, "route=n2")], top=PERSIST), start=False)
    os.mkfifo(old_state(h))
    h.allowed = [r"ISB00043"]
    t0 = time.monotonic()
    h.start()  # bounded: the harness gives up after 20 s
    assert time.monotonic() - t0 < 10
    assert Manager(h).member(b.url)["loadfactor"] == 1
    assert "not a regular file" in h.error_log.read_text()
    h.stop()
    # In the new place too.
    new_state(h).unlink()
    os.mkfifo(new_state(h))
    os.chown(new_state(h), pwd.getpwnam(RUN_USER).pw_uid, -1)
    t0 = time.monotonic()
    h.start()
    assert time.monotonic() - t0 < 10
    assert Manager(h).member(b.url)["loadfactor"] == 1
    assert h.error_log.read_text().count("not a regular file") == 2


def test_an_oversized_state_file_is_refused_as_a_whole(backends, httpd):
    h, a, b = start_edited(backends, httpd, w_lf="7")
    h.stop()
    scope = scope_of_main_server(h)
    # An older build's file: the edit first, then comments past the 4 MiB cap.
    text = (f"isbalancer-state 1\n{scope}\tb=c&w={enc(b.url)}&w_lf=9\n" +
            ("#" + "x" * 1023 + "\n") * (4 * 1024 + 1))
    for p in (new_state(h), old_state(h)):
        if p.exists():
            p.unlink()
    old_state(h).write_text(text)
    h.allowed = [r"ISB00043"]
    h.start()
    assert Manager(h).member(b.url)["loadfactor"] == 1
    log = h.error_log.read_text()
    assert "ISB00043" in log and "larger than 4194304 bytes" in log


def test_a_state_file_cut_short_is_refused_as_a_whole(backends, httpd):
    h, a, b = start_edited(backends, httpd, w_lf="7", w_wr="x2")
    h.stop()
    path = saved_state(h)
    text = path.read_text()
    # Cut right after "&w_wr=": older builds applied the line and cleared the route.
    path.write_text(text[:text.index("w_wr=") + len("w_wr=")])
    h.allowed = [r"ISB00043"]
    h.start()
    m = Manager(h).member(b.url)
    assert (m["loadfactor"], m["route"]) == (1, "n2")
    log = h.error_log.read_text()
    assert "ISB00043" in log and "cut short" in log
    if path == new_state(h):
        assert (state_dir(h) / "state.refused").read_text() == text[:text.index("w_wr=") + 5]


def test_a_damaged_state_file_is_refused_as_a_whole(backends, httpd):
    h, a, b = start_edited(backends, httpd, w_lf="7", w_wr="x2")
    h.stop()
    text = new_state(h).read_text()
    new_state(h).write_text(text.replace("w_lf=7", "w_lf=8"))
    h.allowed = [r"ISB00043"]
    h.start()
    m = Manager(h).member(b.url)
    assert (m["loadfactor"], m["route"]) == (1, "n2")
    assert "checksum" in h.error_log.read_text()


def test_a_complete_version_1_file_of_an_older_build_is_read_once(backends, httpd):
    h, a, b = start_edited(backends, httpd, w_lf="7")
    h.stop()
    scope = scope_of_main_server(h)
    for p in (new_state(h), old_state(h)):
        if p.exists():
            p.unlink()
    v1 = f"isbalancer-state 1\n{scope}\tb=c&w={enc(b.url)}&w_lf=9&w_wr=old\n"
    old_state(h).write_text(v1)
    h.start()
    m = Manager(h).member(b.url)
    assert (m["loadfactor"], m["route"]) == (9, "old")
    assert "ISB00045" in h.error_log.read_text()
    assert Manager(h).post({"w": b.url, "w_lf": "5"})[0] == 200
    h.stop()
    # Never written again; the new file holds the edits from now on.
    assert old_state(h).read_text() == v1
    assert "w_lf=5" in new_state(h).read_text()
    h.start()
    m = Manager(h).member(b.url)
    assert (m["loadfactor"], m["route"]) == (5, "old")


def test_a_directory_or_state_file_others_could_write_is_not_trusted(backends, httpd):
    """A careless operator made the directory world-writable (or a planted file is
    owned by another user): whatever is in it could be anyone's, so nothing of it
    is replayed."""
    h, a, b = start_edited(backends, httpd, w_lf="7")
    h.stop()
    saved = new_state(h).read_text()
    # 1. The directory is world-writable: refused, the file in it not read.
    os.chmod(state_dir(h), 0o777)
    h.allowed = [r"ISB00044", r"ISB00024"]
    h.start()
    assert Manager(h).member(b.url)["loadfactor"] == 1
    log = h.error_log.read_text()
    assert "ISB00044" in log and "can be written by others (mode 0777)" in log
    h.stop()
    # 2. The directory is fine again, but the state file belongs to nobody.
    os.chmod(state_dir(h), 0o700)
    new_state(h).write_text(saved)
    nobody = pwd.getpwnam("nobody")
    os.chown(new_state(h), nobody.pw_uid, nobody.pw_gid)
    h.allowed += [r"ISB00043"]
    h.start()
    assert Manager(h).member(b.url)["loadfactor"] == 1
    assert "neither root nor the httpd user" in h.error_log.read_text()
