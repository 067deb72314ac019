"""Warm kernels for pipeline runs: a fork server that has done the heavy imports once.

A notebook's kernel normally starts a new Python, which then spends one to two seconds importing
pandas, matplotlib, seaborn, SciPy and statsmodels, in every notebook of every run. During a local
``make run`` the pipeline uses a server (:func:`start`, while Snakemake reads the workflow) that
imports them once, and each notebook job asks it for a kernel (:class:`ForkedProvisioner`): the server
forks a child, which becomes a fresh IPython kernel for that notebook only and ends with it. The
server itself never runs notebook code, so no state passes from one notebook to another; every
kernel starts from the same freshly imported state, as a new process would.

The pipeline's ``integrating`` commands (validate, run-notebook, values, build-site; none of them
draws) are served the same way (:func:`run_command`): the command runs in a child forked from the
server, with the command's folder, environment and standard streams, and the process Snakemake
started waits for it and exits with its code; papermill's and nbconvert's imports are then also paid
once.

The server outlives the run by ``warm_kernels_idle_s`` seconds (config.yaml), so that the next run,
after an edit, finds it warm; it ends once no run has used it for that long (at the end of the run
for 0), or with ``python -m integrating.kernels --stop``. It is shared only by runs it serves
exactly as a new one would: runs of the same Python, installed packages, environment variables and
version of this module (:func:`server_key`). It imports nothing of the compendium but this module,
so edited code is always imported afresh by the kernels and commands that use it. Its socket is in a
folder only its user can open (``<tmp>/integrating-kernels-<uid>``).

Without the server (a notebook run by hand, a cluster job, ``warm_kernels: false``, or a server
that does not answer) :func:`kernel_manager` gives an ordinary kernel manager and commands run in
their own process, and the results are the same bytes either way (the pipeline tests run both ways).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SERVER_ENV = "INTEGRATING_KERNEL_SERVER"  # path of the server's socket, for the notebook jobs
FOLDER_PREFIX = "integrating-kernels-"  # of the temporary folder that holds the sockets (and the user id)
# Imported once by the server, what every kernel needs first (its start waits on them), then the
# notebook command's own; a process forked before the end imports the rest itself.
WARM_MODULES = (
    "ipykernel.kernelapp", "IPython", "numpy", "pandas", "matplotlib", "matplotlib.pyplot", "seaborn",
    "jupyter_client", "papermill", "yaml", "jsonschema", "matplotlib.backends.backend_agg",
    "matplotlib.backends.backend_svg", "matplotlib.backends.backend_pdf", "scipy.stats", "scipy.optimize",
    "statsmodels.api", "statsmodels.formula.api", "pingouin", "nbconvert",
)
_served = False  # true in a command's child: its commands run here, not in another child
_reply: socket.socket | None = None  # in a command's child: where its exit code goes (release)
_released = False  # in a command's child: the exit code has gone, the job has ended
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


# ----------------------------------------------------------------------------------------------
# The server


def serve(path: str, parent: int | None = None, idle: float = 0.0) -> None:
    """Listen on the Unix socket ``path``, import :data:`WARM_MODULES`, and fork a kernel per request.

    A request that comes while the imports are under way is served between two of them: its kernel
    imports the rest itself, so asking the server is never slower than starting a kernel. The server
    serves the runs attached to it (``parent``, the Snakemake process that started it, and those that
    attach later) and ends once none has been alive for ``idle`` seconds, on SIGTERM or when asked.
    A second server for the same ``path`` ends at once: the runs use the first."""
    import fcntl

    lock = open(Path(path).with_suffix(".lock"), "ab")  # held, and locked, for the server's life
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return
    Path(path).unlink(missing_ok=True)  # left by a server that was killed
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(16)
    # As ipykernel_launcher does: the server's own folder is not on a kernel's path.
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]
    # As ipykernel does, before matplotlib is imported: the inline backend unless one is set.
    os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)

    def end(*_):  # without the interpreter's teardown of everything imported
        Path(path).unlink(missing_ok=True)
        Path(lock.name).unlink(missing_ok=True)  # a server starting meanwhile at worst idles out unused
        os._exit(0)

    runs = _Runs(parent, idle, end)
    signal.signal(signal.SIGCHLD, lambda *_: _reap())
    signal.signal(signal.SIGTERM, end)
    for name in WARM_MODULES:
        if idle == 0 and runs.over():  # a run with nothing to do ends before the imports
            end()
        _serve_waiting(listener, runs, timeout=0)
        importlib.import_module(name)
    while not runs.over():
        _serve_waiting(listener, runs, timeout=0.5)
    end()


class _Runs:
    """The runs (Snakemake processes) a server serves, and whether its time is over."""

    def __init__(self, parent: int | None, idle: float, end):
        self.pids = {parent} if parent is not None else set()
        self.idle, self.end = idle, end
        self.since = time.monotonic()  # of the last moment a run was attached

    def answer(self, request: dict) -> bool:
        """Take an attach, detach or end request; False for any other (a kernel or a command)."""
        if "attach" in request:
            self.pids.add(int(request["attach"]))
        elif "detach" in request:
            self.pids.discard(int(request["detach"]))
            self.since = time.monotonic()
        elif "end" in request:
            self.end()
        else:
            return False
        return True

    def over(self) -> bool:
        self.pids = {pid for pid in self.pids if _alive(pid)}
        if self.pids:
            self.since = time.monotonic()
            return False
        return time.monotonic() - self.since >= self.idle


def _serve_waiting(listener: socket.socket, runs: _Runs, timeout: float) -> None:
    """Answer each request waiting on ``listener`` (waiting up to ``timeout`` s for one)."""
    listener.settimeout(timeout)
    while True:
        try:
            conn, _ = listener.accept()
        except (TimeoutError, BlockingIOError):
            return
        with conn:
            conn.settimeout(None)
            try:
                message, fds, _, _ = socket.recv_fds(conn, 1 << 20, 3)
                request = json.loads(message.decode())
            except (OSError, ValueError):
                continue
            if not runs.answer(request):
                _fork_child(listener, conn, request, fds)
        listener.settimeout(0)


def _fork_child(listener: socket.socket, conn: socket.socket, request: dict, fds: list[int]) -> None:
    """A kernel, or a command's run, for ``request``; the child's process id goes back on ``conn``."""
    pid = os.fork()
    if pid == 0:  # the child: never returns to the server's loop
        code = 1
        try:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            listener.close()
            importlib.invalidate_caches()  # modules added to the compendium since the server started
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
    """Run an ``integrating`` command; its exit code goes back to the waiting process (at the end, or
    earlier through :func:`release`), and the command stops (SIGTERM, so that it cleans up) if that
    process ends first (Snakemake cancelled the job)."""
    import threading

    global _served, _reply
    _served, _reply = True, conn

    def on_term(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    client = request["client"]

    def watch():
        while not _released and _alive(client):
            time.sleep(0.1)
        if not _released:
            os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, daemon=True).start()
    sys.argv = ["integrating", *request["command"]]
    try:
        from integrating.cli import main as cli

        code = cli(request["command"])
    except SystemExit as exc:  # argparse's usage errors, or the job cancelled
        code = exc.code if isinstance(exc.code, int) else 1
    release(code)
    return code


def release(code: int) -> bool:
    """End the job of this served command now, with exit code ``code``, and go on without its standard
    streams (they become /dev/null): what the command still does is for a later step, which waits for
    it. False, doing nothing, outside a served command or once released."""
    global _released
    if _reply is None or _released:
        return False
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    _released = True  # first: the watcher must not take the job's end for a cancellation
    _reply.sendall(json.dumps({"exit": code}).encode() + b"\n")
    _reply.close()
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    return True


def _become_kernel(request: dict) -> None:
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


_server: subprocess.Popen | None = None  # the server this process started, if it started one
_attached: Path | None = None  # the socket of the server this process's run uses

# Snakemake options under which no notebook runs here (a dry run, a listing, another executor).
_NOT_LOCAL_RUN = ("--dry-run", "--dryrun", "--list", "--summary", "--detailed-summary", "--dag", "--rulegraph",
                  "--filegraph", "--lint", "--touch", "--unlock", "--cleanup-metadata", "--delete-all-output",
                  "--delete-temp-output", "--executor", "--profile", "--containerize", "--help", "--version")
# Environment variables that differ between two runs of the same shell without changing an import.
_VOLATILE_ENV = frozenset({"_", "OLDPWD", "PWD", "SHLVL", SERVER_ENV})


def may_run_notebooks(argv: list[str]) -> bool:
    """Whether a Snakemake command line may run notebooks in this process's machine: then the Snakefile
    starts the server while the workflow is read, half a second before ``onstart`` would (which starts
    it otherwise, and stops it when the run turns out not to be local)."""
    for arg in argv[1:]:
        if arg.startswith(_NOT_LOCAL_RUN) or arg in ("-l", "-S", "-D", "-h", "-v") or (
                arg.startswith("-") and not arg.startswith("--") and "n" in arg):
            return False
    return True


def server_key(idle: float) -> str:
    """What a server's imports depend on, hashed: this Python, the installed packages (the names and
    times of their metadata folders, which an install or upgrade changes), the environment variables
    (PYTHONPATH, MPLBACKEND, HOME, ...) and this module. A run uses a server of its own key only."""
    site_dirs = sorted({p for p in sys.path if os.path.basename(p) == "site-packages" and os.path.isdir(p)})
    installed = []
    for folder in site_dirs:
        with os.scandir(folder) as entries:
            installed += [(folder, e.name, e.stat().st_mtime_ns) for e in entries
                          if e.name.endswith((".dist-info", ".egg-info", ".pth"))]
    what = {
        "python": [sys.executable, sys.version],
        "installed": sorted(installed),
        "env": {k: v for k, v in os.environ.items() if k not in _VOLATILE_ENV},
        "code": [str(Path(__file__).resolve()), hashlib.sha256(Path(__file__).read_bytes()).hexdigest()],
        "idle": idle,
    }
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:24]


def socket_folder() -> Path | None:
    """The folder of this user's servers' sockets, made if missing; None if it is not a folder that
    only this user can open (then no server is used)."""
    folder = Path(tempfile.gettempdir()) / f"{FOLDER_PREFIX}{os.getuid()}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        info = os.lstat(folder)
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o077:
        return None
    return folder


def _tell(path: Path, request: dict) -> bool:
    """Send ``request`` to the server at ``path``; False when no server listens there."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.connect(str(path))
            conn.sendall(json.dumps(request).encode())
        return True
    except OSError:
        return False


def start(idle: float = 0.0) -> None:
    """Point this process's notebook jobs (:data:`SERVER_ENV`) at a server of its key, attaching this
    run to one that runs or starting one (once per process). ``idle``: seconds the server waits for
    the next run once no run uses it."""
    global _server, _attached
    if _attached is not None:
        return
    folder = socket_folder()
    if folder is None:
        return
    path = folder / f"{server_key(idle)}.sock"
    me = {"attach": os.getpid()}
    if not _tell(path, me):
        # In a session of its own: an interrupt of the run (Ctrl-C) does not reach a server that
        # outlives it. A server that finds another already serving this key ends at once.
        _server = subprocess.Popen(
            [sys.executable, "-m", "integrating.kernels", str(path), "--parent", str(os.getpid()), "--idle", str(idle)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=folder,
            start_new_session=True,
        )
        deadline = time.monotonic() + 5
        while not _tell(path, me):
            if time.monotonic() > deadline:
                return
            time.sleep(0.01)
    _attached = path
    os.environ[SERVER_ENV] = str(path)


def stop() -> None:
    """This process's run no longer uses its server, which ends once no run has used it for its idle
    time (at once for 0)."""
    global _attached
    os.environ.pop(SERVER_ENV, None)
    if _attached is not None:
        _tell(_attached, {"detach": os.getpid()})
        _attached = None


def servers() -> set[Path]:
    """The sockets of this user's servers."""
    folder = socket_folder()
    return set(folder.glob("*.sock")) if folder else set()


def end(path) -> bool:
    """End the server at ``path`` now (kernels and commands it is running go on); False if none listens."""
    return _tell(Path(path), {"end": True})


def stop_all() -> int:
    """End every server of this user now; how many."""
    return sum(end(path) for path in sorted(servers()))


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
                conn, _, pid = _ask_fork(self.server, request)
            except (OSError, ValueError, KeyError):  # the server is gone or failed: start the kernel as usual
                return await super().launch_kernel(cmd, **kwargs)
            conn.close()
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


def _ask_fork(path, request: dict):
    """Send ``request`` with this process's standard streams to the server at ``path``: (the open
    connection, its replies, the process id of the child forked for it)."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(str(path))
        socket.send_fds(conn, [json.dumps(request).encode()], [0, 1, 2])
        replies = conn.makefile("rb")
        return conn, replies, json.loads(replies.readline())["pid"]
    except BaseException:
        conn.close()
        raise


def run_command(argv: list[str]) -> int | None:
    """Run ``integrating ARGV`` in a child of the run's server and return its exit code; None when there
    is no server that answers (the caller then runs the command itself). SIGTERM and SIGINT received
    meanwhile are passed on to the child."""
    path = os.environ.get(SERVER_ENV)
    if _served or not path:
        return None
    request = {"command": list(argv), "cwd": os.getcwd(), "env": dict(os.environ), "client": os.getpid()}
    try:
        conn, replies, pid = _ask_fork(path, request)
    except (OSError, ValueError, KeyError):
        return None
    with conn:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda signum, frame: os.kill(pid, signal.SIGTERM))
        try:
            return int(json.loads(replies.readline())["exit"])
        except (OSError, ValueError, KeyError):  # the child died without a word
            return 1


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Fork server of warm notebook kernels (started by the pipeline).")
    parser.add_argument("socket", nargs="?", help="the socket to serve on")
    parser.add_argument("--parent", type=int, help="process id of the run that starts it")
    parser.add_argument("--idle", type=float, default=0.0, help="seconds to wait for the next run once none is left")
    parser.add_argument("--stop", action="store_true", help="end every server of this user now")
    args = parser.parse_args(argv)
    if args.stop:
        print(f"{stop_all()} server(s) ended")
        return 0
    if args.socket is None:
        parser.error("a socket, or --stop")
    serve(args.socket, args.parent, args.idle)
    return 0


if __name__ == "__main__":
    # Served from the module itself, not from __main__: a command's child imports integrating.kernels
    # (through the command line) and must find its flag set there.
    from integrating.kernels import main as _main

    sys.exit(_main())
