"""The lab under test: the one scripts/cluster.sh has up (its lab.json
under $DF_VAR/cluster, DF_VAR as stack.sh defaults it), or one this
session starts and stops at its end. Every test that faults a piece of
the lab restores it after (restored): cables in, cuts healed, dead
servers started again, the lab whole before the next test."""
import os

import pytest

from lab import CLUSTER, Lab, lab_json_path, run


@pytest.fixture(scope="session")
def lab():
    if os.geteuid() != 0:
        pytest.exit("the lab's tests need root (network namespaces)", returncode=4)
    path = lab_json_path()
    started = False
    if not os.path.exists(path):
        r = run([CLUSTER, "start"], timeout=300, check=False)
        if r.returncode != 0:
            pytest.exit(f"no lab for the cluster tests:\n{r.stdout}{r.stderr}", returncode=4)
        started = True
    the_lab = Lab(path)
    the_lab.restore()
    yield the_lab
    if started:
        r = run([CLUSTER, "stop"], timeout=300, check=False)
        assert r.returncode == 0, f"cluster.sh stop: {r.stdout}{r.stderr}"


@pytest.fixture
def restored(lab):
    """The lab, whole again after the test whatever it faulted."""
    try:
        yield lab
    finally:
        lab.restore()


@pytest.fixture
def out_dir(tmp_path):
    # the load generator runs as root on the client host: it writes here
    os.chmod(tmp_path, 0o755)
    return str(tmp_path)


def pytest_report_header(config):
    return f"lab: {lab_json_path()}"


