"""Warm kernels for a pipeline run: a fork server that has done the heavy imports once.

A notebook's kernel normally starts a new Python, which then spends one to two seconds importing
pandas, matplotlib, seaborn, SciPy and statsmodels, in every notebook of every run. During a local
``make run`` the pipeline starts one server (:func:`start`, while Snakemake reads the workflow) that
imports them once, and each notebook job asks it for a kernel (:class:`ForkedProvisioner`): the server
forks a child, which becomes a fresh IPython kernel for that notebook only and ends with it. The
server itself never runs notebook code, so no state passes from one notebook to another; every
kernel starts from the same freshly imported state, as a new process would.

The pipeline's ``integrating`` commands (validate, run-notebook, values, build-site; none of them
draws) are served the same way (:func:`run_command`): the command runs in a child forked from the
server, with the command's folder, environment and standard streams, and the process Snakemake
started waits for it and exits with its code; papermill's and nbconvert's imports are then also paid
once per run.

Without the server (a notebook run by hand, a cluster job, ``warm_kernels: false``, or a server
that does not answer) :func:`kernel_manager` gives an ordinary kernel manager and commands run in
their own process, and the results are the same bytes either way (the pipeline tests run both ways).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SERVER_ENV = "INTEGRATING_KERNEL_SERVER"  # path of the server's socket, for the notebook jobs
FOLDER_PREFIX = "integrating-kernels-"  # of the temporary folder that holds the socket
# Imported once by the server, what every kernel needs first (its start waits on them), then the
# notebook command's own; a process forked before the end imports the rest itself.
WARM_MODULES = (
    "ipykernel.kernelapp", "IPython", "numpy", "pandas", "matplotlib", "matplotlib.pyplot", "seaborn",
    "jupyter_client", "papermill", "yaml", "jsonschema", "matplotlib.backends.backend_agg",
    "matplotlib.backends.backend_svg", "matplotlib.backends.backend_pdf", "scipy.stats", "scipy.optimize",
    "statsmodels.api", "statsmodels.formula.api", "pingouin", "nbconvert",
)
_served = False  # true in a command's child: its commands run here, not in another child
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


# ----------------------------------------------------------------------------------------------
# The server


def serve(path: str, parent: int | None = None) -> None:
    """Listen on the Unix socket ``path``, import :data:`WARM_MODULES`, and fork a kernel per request.

    A request that comes while the imports are under way is served between two of them: its kernel
    imports the rest itself, so asking the server is never slower than starting a kernel. The server
    ends when ``parent`` (the Snakemake process) is gone or on SIGTERM."""
    import importlib

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(16)
    # As ipykernel_launcher does: the server's own folder is not on a kernel's path.
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]
    # As ipykernel does, before matplotlib is imported: the inline backend unless one is set.
    os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)

    def end(*_):  # without the interpreter's teardown of everything imported
        _remove(path)
        os._exit(0)

    signal.signal(signal.SIGCHLD, lambda *_: _reap())
    signal.signal(signal.SIGTERM, end)
    for name in WARM_MODULES:
        if parent is not None and not _alive(parent):  # a run with nothing to do ends before the imports
            end()
        _serve_waiting(listener, timeout=0)
        importlib.import_module(name)
    while parent is None or _alive(parent):
        _serve_waiting(listener, timeout=0.5)
    end()


def _remove(path) -> None:
    """The server's socket, and the folder :func:`start` made for it."""
    path = Path(path)
    path.unlink(missing_ok=True)
    if path.parent.name.startswith(FOLDER_PREFIX):
        shutil.rmtree(path.parent, ignore_errors=True)


def _serve_waiting(listener: socket.socket, timeout: float) -> None:
    """Fork a child for each request waiting on ``listener`` (waiting up to ``timeout`` s for one)."""
    listener.settimeout(timeout)
    while True:
        try:
            conn, _ = listener.accept()
        except (TimeoutError, BlockingIOError):
            return
        with conn:
            conn.settimeout(None)
            _fork_child(listener, conn)
        listener.settimeout(0)


def _fork_child(listener: socket.socket, conn: socket.socket) -> None:
    """A kernel, or a command's run, for the request on ``conn``; the child's process id goes back."""
    message, fds, _, _ = socket.recv_fds(conn, 1 << 20, 3)
    request = json.loads(message.decode())
    pid = os.fork()
    if pid == 0:  # the child: never returns to the server's loop
        code = 1
        try:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            listener.close()
            _take_over(request, fds)
            if "command" in request:
                code = _command_child(request, conn)
            else:
                conn.close()
                os.setsid()  # its own process group, as a launched kernel has: interrupts reach it alone
                _become_kernel(request)
                code = 0
        finally:
            for stream in (sys.stdout, sys.stderr):
                stream.flush()
            os._exit(code)
    for fd in fds:
        os.close(fd)
    conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")


def _take_over(request: dict, fds: list[int]) -> None:
    """The requesting process's standard streams, folder and environment."""
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])


def _command_child(request: dict, conn: socket.socket) -> int:
    """Run an ``integrating`` command; its exit code goes back to the waiting process, and the command
    stops (SIGTERM, so that it cleans up) if that process ends first (Snakemake cancelled the job)."""
    import threading

    global _served
    _served = True

    def on_term(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    client = request["client"]

    def watch():
        while _alive(client):
            time.sleep(0.1)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, daemon=True).start()
    sys.argv = ["integrating", *request["command"]]
    try:
        from integrating.cli import main as cli

        code = cli(request["command"])
    except SystemExit as exc:  # argparse's usage errors, or the job cancelled
        code = exc.code if isinstance(exc.code, int) else 1
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    conn.sendall(json.dumps({"exit": code}).encode() + b"\n")
    return code


def _become_kernel(request: dict) -> None:
    import importlib.util

    from ipykernel.kernelapp import IPKernelApp

    argv = request["argv"]
    sys.argv = [importlib.util.find_spec("ipykernel_launcher").origin, *argv[argv.index("ipykernel_launcher") + 1 :]]
    # The app read JPY_PARENT_PID when the server imported it, before this kernel's environment was set.
    parent = [f"--IPKernelApp.parent_handle={os.environ['JPY_PARENT_PID']}"] if "JPY_PARENT_PID" in os.environ else []
    IPKernelApp.launch_instance(argv=sys.argv[1:] + parent)


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


# ----------------------------------------------------------------------------------------------
# Starting and stopping it (the Snakefile's onstart, onsuccess and onerror)


_server: tuple[subprocess.Popen, Path] | None = None  # this process's server and its folder (start)


# Snakemake options under which no notebook runs here (a dry run, a listing, another executor).
_NOT_LOCAL_RUN = ("--dry-run", "--dryrun", "--list", "--summary", "--detailed-summary", "--dag", "--rulegraph",
                  "--filegraph", "--lint", "--touch", "--unlock", "--cleanup-metadata", "--delete-all-output",
                  "--delete-temp-output", "--executor", "--profile", "--containerize", "--help", "--version")


def may_run_notebooks(argv: list[str]) -> bool:
    """Whether a Snakemake command line may run notebooks in this process's machine: then the Snakefile
    starts the server while the workflow is read, half a second before ``onstart`` would (which starts
    it otherwise, and stops it when the run turns out not to be local)."""
    for arg in argv[1:]:
        if arg.startswith(_NOT_LOCAL_RUN) or arg in ("-l", "-S", "-D", "-h", "-v") or (
                arg.startswith("-") and not arg.startswith("--") and "n" in arg):
            return False
    return True


def start() -> None:
    """Start a server for this process's run (once) and point its notebook jobs at it (:data:`SERVER_ENV`)."""
    global _server
    if _server is not None:
        return
    folder = Path(tempfile.mkdtemp(prefix=FOLDER_PREFIX))
    path = folder / "socket"
    server = subprocess.Popen(
        [sys.executable, "-m", "integrating.kernels", str(path), "--parent", str(os.getpid())],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=folder,
    )
    _server = server, folder
    deadline = time.monotonic() + 5
    while not path.exists() and server.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    if path.exists():
        os.environ[SERVER_ENV] = str(path)


def stop() -> None:
    """Stop the server started by :func:`start` (by its process id) and remove its socket and folder."""
    global _server
    os.environ.pop(SERVER_ENV, None)
    if _server is None:
        return
    (server, folder), _server = _server, None
    if server.poll() is None:
        server.terminate()
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            server.kill()
    shutil.rmtree(folder, ignore_errors=True)


# ----------------------------------------------------------------------------------------------
# The notebook job's side


class _ForkedProcess:
    """The part of :class:`subprocess.Popen` a kernel provisioner uses, for a kernel the server forked
    (its child, not ours: the server collects its exit status)."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode = None

    def poll(self):
        if self.returncode is None and not _alive(self.pid):
            self.returncode = 0
        return self.returncode

    def wait(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            time.sleep(0.01)
        return self.returncode

    def send_signal(self, signum):
        try:
            os.kill(self.pid, signum)
        except ProcessLookupError:
            pass

    def kill(self):
        self.send_signal(signal.SIGKILL)

    def terminate(self):
        self.send_signal(signal.SIGTERM)


def _provisioner_class():
    from jupyter_client.provisioning import LocalProvisioner

    class ForkedProvisioner(LocalProvisioner):
        """Launches the kernel by asking the fork server at ``server`` instead of starting a process."""

        server: str = ""

        async def launch_kernel(self, cmd, **kwargs):
            # The environment jupyter_client's launcher gives a kernel it starts.
            env = dict(kwargs.get("env") or os.environ, JPY_PARENT_PID=str(os.getpid()))
            request = {"argv": list(cmd), "cwd": os.path.abspath(kwargs.get("cwd") or os.getcwd()), "env": env}
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                    conn.connect(self.server)
                    socket.send_fds(conn, [json.dumps(request).encode()], [0, 1, 2])
                    pid = json.loads(conn.makefile("rb").readline())["pid"]
            except (OSError, ValueError, KeyError):  # the server is gone or failed: start the kernel as usual
                return await super().launch_kernel(cmd, **kwargs)
            self.process = _ForkedProcess(pid)
            self.pid = self.pgid = self.process.pid
            self.cwd = request["cwd"]
            return self.connection_info

    return ForkedProvisioner


def kernel_manager(kernel_name: str):
    """An asynchronous kernel manager for ``kernel_name``, talking to its kernel over Unix sockets: the
    kernel forked by the run's server when there is one that answers and the kernel is this Python's
    ipykernel, else started as usual."""
    from jupyter_client.manager import AsyncKernelManager

    manager = AsyncKernelManager(kernel_name=kernel_name)
    # Unix sockets of its own instead of TCP ports: notebooks started at the same moment cannot pick the
    # same free port (a client would then reach another notebook's kernel and be refused).
    import uuid

    manager.transport = "ipc"
    manager.ip = os.path.join(tempfile.gettempdir(), f"integrating-kernel-{uuid.uuid4().hex}")
    path = os.environ.get(SERVER_ENV)
    argv = manager.kernel_spec.argv
    if not path or not Path(path).exists() or "ipykernel_launcher" not in argv:
        return manager
    if Path(argv[0]).resolve() != Path(sys.executable).resolve():
        return manager
    manager.kernel_id = str(uuid.uuid4())
    provisioner = _provisioner_class()(kernel_id=manager.kernel_id, kernel_spec=manager.kernel_spec, parent=manager)
    provisioner.server = path
    manager.provisioner = provisioner
    return manager


def run_command(argv: list[str]) -> int | None:
    """Run ``integrating ARGV`` in a child of the run's server and return its exit code; None when there
    is no server that answers (the caller then runs the command itself). SIGTERM and SIGINT received
    meanwhile are passed on to the child."""
    path = os.environ.get(SERVER_ENV)
    if _served or not path:
        return None
    request = {"command": list(argv), "cwd": os.getcwd(), "env": dict(os.environ), "client": os.getpid()}
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        try:
            conn.connect(path)
            socket.send_fds(conn, [json.dumps(request).encode()], [0, 1, 2])
            replies = conn.makefile("rb")
            pid = json.loads(replies.readline())["pid"]
        except (OSError, ValueError, KeyError):
            return None
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda signum, frame: os.kill(pid, signal.SIGTERM))
        try:
            return int(json.loads(replies.readline())["exit"])
        except (OSError, ValueError, KeyError):  # the child died without a word
            return 1


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Fork server of warm notebook kernels (started by the pipeline).")
    parser.add_argument("socket")
    parser.add_argument("--parent", type=int)
    args = parser.parse_args(argv)
    serve(args.socket, args.parent)
    return 0


if __name__ == "__main__":
    # Served from the module itself, not from __main__: a command's child imports integrating.kernels
    # (through the command line) and must find its flag set there.
    from integrating.kernels import main as _main

    sys.exit(_main())
