"""The pipeline's server of warm kernels (integrating.kernels): forked kernels, the fallback, the end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

import nbformat
import pytest

from integrating import kernels, runner

PROBE = """import json, os, sys
import matplotlib
print(json.dumps({"ppid": os.getppid(), "cwd": os.getcwd(), "backend": matplotlib.get_backend(),
                  "path": sys.path, "value": os.environ.get("PROBE_VALUE"), "preloaded": "pandas" in sys.modules}))"""


def _probe(tmp_path, name):
    nb = nbformat.v4.new_notebook()
    nb.metadata.kernelspec = {"name": runner.KERNEL, "display_name": "Python", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("value = None", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell(PROBE + "\nassert os.environ.get('PROBE_VALUE') == value")]
    source = tmp_path / "probe.ipynb"
    nbformat.write(nb, source)
    work = tmp_path / name
    work.mkdir()
    os.environ["PROBE_VALUE"] = name
    try:
        assert runner.run(source, work / "out.ipynb", {"value": name}, cwd=work) == 0
    finally:
        os.environ.pop("PROBE_VALUE")
    out = nbformat.read(work / "out.ipynb", as_version=4)
    return json.loads(out.cells[-1].outputs[0]["text"]), work


@pytest.fixture
def fresh_key(monkeypatch):
    """An environment no other server was started in: the next start() starts a server of its own."""
    import uuid

    monkeypatch.setenv("INTEGRATING_TEST_SERVER", uuid.uuid4().hex)


@pytest.fixture
def server(fresh_key):
    kernels.start(0)
    started = kernels._server
    yield started
    kernels.stop()
    started.wait(timeout=10)
    kernels._server = None


@pytest.mark.notebook
def test_a_kernel_is_forked_from_the_server_and_behaves_as_a_started_one(tmp_path, server):
    for attempt in range(20):  # a kernel asked for before the server's imports are done imports the rest itself
        forked, work = _probe(tmp_path, f"forked{attempt}")
        if forked["preloaded"]:
            break
    kernels.stop()
    started, work2 = _probe(tmp_path, "started")
    assert forked["ppid"] == server.pid and started["ppid"] == os.getpid()
    assert forked["preloaded"] and not started["preloaded"]
    # Same folder, environment, matplotlib backend and import path as a kernel started anew.
    assert (forked["cwd"], started["cwd"]) == (str(work), str(work2))
    assert (forked["value"], started["value"]) == (f"forked{attempt}", "started")
    assert forked["backend"] == started["backend"]
    assert forked["path"] == started["path"]


@pytest.mark.notebook
def test_each_notebook_gets_a_fresh_kernel(tmp_path, server):
    first, _ = _probe(tmp_path, "one")
    second, _ = _probe(tmp_path, "two")
    assert first["ppid"] == second["ppid"] == server.pid
    assert (first["value"], second["value"]) == ("one", "two")


@pytest.mark.notebook
def test_a_run_that_ends_before_any_job_leaves_no_server_behind_at_idle_0(tmp_path, fresh_key):
    from integrating import paths

    work = tmp_path / "work"
    work.mkdir()
    cmd = [sys.executable, "-m", "snakemake", "--cores", "1", "-s", str(paths.ROOT / "Snakefile"), "--directory",
           str(work), "--config", f"raw_dir={paths.ROOT / 'data' / 'raw'}", "warm_kernels_idle_s=0", "--",
           "no/such/target"]
    before = kernels.servers()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode != 0  # no rule makes the target: Snakemake stops before any job
    deadline = time.monotonic() + 20
    while kernels.servers() - before:
        assert time.monotonic() < deadline, "the server of a run that ended stayed"
        time.sleep(0.2)


def test_stop_at_idle_0_ends_the_server_and_removes_its_socket(server):
    path = os.environ[kernels.SERVER_ENV]
    kernels.stop()
    server.wait(timeout=10)
    assert kernels.SERVER_ENV not in os.environ and not os.path.exists(path)


def test_a_server_waits_its_idle_time_for_the_next_run_then_ends(fresh_key):
    kernels.start(1.5)
    first, path = kernels._server, os.environ[kernels.SERVER_ENV]
    try:
        kernels.stop()
        time.sleep(0.7)
        assert first.poll() is None  # waiting
        kernels._server = None
        kernels.start(1.5)  # the next run (here, the same process again) attaches to it
        assert kernels._server is None and os.environ[kernels.SERVER_ENV] == path
        kernels.stop()
        first.wait(timeout=10)  # no run for 1.5 s: ended
        assert not os.path.exists(path)
    finally:
        kernels.stop()
        first.kill()


def test_a_second_server_for_the_same_socket_leaves_it_to_the_first(tmp_path):
    path = str(tmp_path / "s.sock")
    first = subprocess.Popen([sys.executable, "-m", "integrating.kernels", path, "--idle", "30"])
    try:
        deadline = time.monotonic() + 20
        while not os.path.exists(path):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        second = subprocess.run([sys.executable, "-m", "integrating.kernels", path, "--idle", "30"], timeout=20)
        assert second.returncode == 0 and first.poll() is None and os.path.exists(path)
        assert kernels.end(tmp_path / "s.sock")
        first.wait(timeout=10)
    finally:
        first.kill()


def test_stop_all_ends_every_server_of_the_user(fresh_key):
    kernels.start(60)
    started = kernels._server
    try:
        out = subprocess.run([sys.executable, "-m", "integrating.kernels", "--stop"], capture_output=True, text=True)
        assert "server(s) ended" in out.stdout
        started.wait(timeout=10)
    finally:
        kernels.stop()
        kernels._server = None
        started.kill()


def test_runs_share_a_server_only_when_it_would_import_the_same(monkeypatch):
    key = kernels.server_key(600)
    monkeypatch.setenv("OLDPWD", "/somewhere/else")  # differs between two runs of one shell: the same server
    assert kernels.server_key(600) == key
    assert kernels.server_key(0) != key  # another idle time
    monkeypatch.setenv("MPLBACKEND", "pdf")  # an import would differ
    assert kernels.server_key(600) != key


def test_no_server_when_the_socket_folder_is_open_to_others(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(tmp_path))
    folder = tmp_path / f"{kernels.FOLDER_PREFIX}{os.getuid()}"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    assert kernels.socket_folder() is None
    folder.chmod(0o700)
    assert kernels.socket_folder() == folder


@pytest.mark.notebook
def test_without_an_answering_server_the_kernel_starts_as_usual(tmp_path, monkeypatch):
    monkeypatch.setenv(kernels.SERVER_ENV, str(tmp_path / "no-such-socket"))
    started, _ = _probe(tmp_path, "alone")
    assert started["ppid"] == os.getpid() and not started["preloaded"]
    stale = tmp_path / "stale-socket"  # a socket file nobody listens on
    import socket

    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(stale))
    monkeypatch.setenv(kernels.SERVER_ENV, str(stale))
    started, _ = _probe(tmp_path, "stale")
    assert started["ppid"] == os.getpid()


@pytest.mark.notebook
def test_the_server_ends_when_the_run_that_started_it_ends(tmp_path):
    parent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    server = subprocess.Popen([sys.executable, "-m", "integrating.kernels", str(tmp_path / "s"),
                               "--parent", str(parent.pid)])
    try:
        time.sleep(0.5)
        assert server.poll() is None
        parent.kill()
        parent.wait()
        server.wait(timeout=20)
        assert not (tmp_path / "s").exists()  # its socket removed
    finally:
        server.kill()
        parent.kill()


@pytest.mark.parametrize("argv, early", [
    (["snakemake", "--cores", "all"], True),
    (["snakemake", "--cores", "2", "--config", "implementation_threshold=0.6", "--directory", "x"], True),
    (["snakemake", "-n"], False),
    (["snakemake", "-np", "--cores", "1"], False),
    (["snakemake", "--dry-run"], False),
    (["snakemake", "--profile", "workflow/profiles/slurm", "power"], False),
    (["snakemake", "--executor", "slurm"], False),
    (["snakemake", "--list-target-rules"], False),
])
def test_the_server_starts_early_only_for_a_command_that_may_run_notebooks_here(argv, early):
    assert kernels.may_run_notebooks(argv) is early


@pytest.mark.notebook
def test_a_served_command_runs_with_the_callers_folder_streams_and_exit_code(tmp_path, server, capfd):
    from integrating import paths

    os.chdir(tmp_path)
    try:
        assert kernels.run_command(["validate", str(paths.ROOT / "data" / "raw")]) == 0
        assert kernels.run_command(["validate", "missing"]) == 1
    finally:
        os.chdir(paths.ROOT)
    out, err = capfd.readouterr()
    assert "data/raw: valid" in out
    assert "missing: expected a folder holding the raw data contract" in out + err


def test_without_a_server_a_command_runs_in_its_own_process(monkeypatch):
    monkeypatch.delenv(kernels.SERVER_ENV, raising=False)
    assert kernels.run_command(["validate", "x"]) is None


@pytest.mark.notebook
def test_a_cancelled_job_stops_its_served_notebook_and_kernel(tmp_path, server):
    pid_file = tmp_path / "kernel.pid"
    nb = nbformat.v4.new_notebook()
    nb.metadata.kernelspec = {"name": runner.KERNEL, "display_name": "Python", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(f"import os, time\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))"),
                nbformat.v4.new_code_cell("time.sleep(120)")]
    nbformat.write(nb, tmp_path / "long.ipynb")
    job = subprocess.Popen([sys.executable, "-m", "integrating.cli", "run-notebook", str(tmp_path / "long.ipynb"),
                            str(tmp_path / "out.ipynb"), "{}", "--cwd", str(tmp_path)])
    deadline = time.monotonic() + 60
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline and job.poll() is None
        time.sleep(0.1)
    kernel = int(pid_file.read_text())
    job.kill()  # as Snakemake does to the job of a cancelled run
    job.wait()
    deadline = time.monotonic() + 20
    while kernels._alive(kernel):
        assert time.monotonic() < deadline, "the kernel outlived the cancelled job"
        time.sleep(0.1)
