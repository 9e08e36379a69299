import pytest

from harness import Backend, Httpd, make_certs


@pytest.fixture
def backends():
    """Factory: backends(("a", "route_a"), ...) -> started Backend list; all stopped after."""
    started = []

    def make(*specs, tls=None):
        out = []
        for spec in specs:
            name, route = spec if isinstance(spec, tuple) else (spec, "")
            b = Backend(name, route, tls=tls).start()
            started.append(b)
            out.append(b)
        return out

    yield make
    for b in started:
        if b.proc:
            b.stop()


@pytest.fixture
def httpd(request):
    """Factory: httpd(config_body, mpm=..., ...) -> started Httpd. After the test, the
    error log must hold no [warn]/[error] lines except those the test allowed via
    `inst.allowed`, and no child may have crashed."""
    made = []

    def make(body, start=True, **kw):
        inst = Httpd(body, **kw)
        inst.allowed = []
        made.append(inst)
        if start:
            inst.start()
        return inst

    yield make
    failed = request.node.rep_call.failed if hasattr(request.node, "rep_call") else False
    problems = []
    for inst in made:
        inst.stop()
        found = inst.log_problems(inst.allowed)
        found += [f"sanitizer report {name}:\n{text}"
                  for name, text in inst.sanitizer_reports().items()]
        problems += found
        if failed or found:
            print(f"--- error log of {inst.root}:\n{inst.log_tail(60)}")
    for inst in made:
        inst.cleanup()
    assert not problems, "unexpected lines in the error log:\n" + "\n".join(problems)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


@pytest.fixture(scope="session")
def certs(tmp_path_factory):
    """(ca.crt, server.crt, server.key) for localhost and 127.0.0.1."""
    return make_certs(tmp_path_factory.mktemp("certs"))
