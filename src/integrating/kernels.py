"""Warm kernels for a pipeline run: a fork server that has done the heavy imports once.

A notebook's kernel normally starts a new Python, which then spends one to two seconds importing
pandas, matplotlib, seaborn, SciPy and statsmodels, in every notebook of every run. During a local
``make run`` the pipeline starts one server (:func:`start`, from the Snakefile's ``onstart``) that
imports them once, and each notebook job asks it for a kernel (:class:`ForkedProvisioner`): the server
forks a child, which becomes a fresh IPython kernel for that notebook only and ends with it. The
server itself never runs notebook code, so no state passes from one notebook to another; every
kernel starts from the same freshly imported state, as a new process would.

Without the server (a notebook run by hand, a cluster job, ``warm_kernels: false``, or a server
that does not answer) :func:`kernel_manager` gives an ordinary kernel manager, and the results are
the same bytes either way (the pipeline tests run both ways).
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
# Imported by the server before it forks: what the notebooks' kernels would otherwise import one by one.
WARM_MODULES = (
    "numpy", "pandas", "scipy.stats", "scipy.optimize", "matplotlib", "matplotlib.pyplot",
    "matplotlib.backends.backend_agg", "matplotlib.backends.backend_pdf", "matplotlib.backends.backend_svg",
    "seaborn", "statsmodels.api", "statsmodels.formula.api", "pingouin", "jsonschema", "yaml",
    "IPython", "ipykernel.kernelapp",
)
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


# ----------------------------------------------------------------------------------------------
# The server


def serve(path: str, parent: int | None = None) -> None:
    """Listen on the Unix socket ``path``, import :data:`WARM_MODULES`, then fork a kernel per request.

    The socket listens before the imports start, so a request made meanwhile waits for them instead
    of failing. The server ends when ``parent`` (the Snakemake process) is gone or on SIGTERM."""
    import importlib

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(16)
    # As ipykernel does, before matplotlib is imported: the inline backend unless one is set.
    os.environ.setdefault("MPLBACKEND", INLINE_BACKEND)
    for name in WARM_MODULES:
        importlib.import_module(name)
    # As ipykernel_launcher does: the server's own folder is not on a kernel's path.
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]
    signal.signal(signal.SIGCHLD, lambda *_: _reap())
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    listener.settimeout(0.5)
    while parent is None or _alive(parent):
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            continue
        with conn:
            conn.settimeout(None)
            _fork_kernel(listener, conn)


def _fork_kernel(listener: socket.socket, conn: socket.socket) -> None:
    message, fds, _, _ = socket.recv_fds(conn, 1 << 20, 3)
    request = json.loads(message.decode())
    pid = os.fork()
    if pid == 0:  # the kernel: never returns to the server's loop
        code = 1
        try:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            listener.close()
            conn.close()
            _become_kernel(request, fds)
            code = 0
        finally:
            os._exit(code)
    for fd in fds:
        os.close(fd)
    conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")


def _become_kernel(request: dict, fds: list[int]) -> None:
    os.setsid()  # its own process group, as a launched kernel has: interrupts reach it alone
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
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


def start() -> None:
    """Start a server for this process's run and point its notebook jobs at it (:data:`SERVER_ENV`)."""
    global _server
    folder = Path(tempfile.mkdtemp(prefix="integrating-kernels-"))
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
    """An asynchronous kernel manager for ``kernel_name``: its kernel forked by the run's server when
    there is one that answers and the kernel is this Python's ipykernel, else started as usual."""
    from jupyter_client.manager import AsyncKernelManager

    manager = AsyncKernelManager(kernel_name=kernel_name)
    path = os.environ.get(SERVER_ENV)
    argv = manager.kernel_spec.argv
    if not path or not Path(path).exists() or "ipykernel_launcher" not in argv:
        return manager
    if Path(argv[0]).resolve() != Path(sys.executable).resolve():
        return manager
    import uuid

    manager.kernel_id = str(uuid.uuid4())
    provisioner = _provisioner_class()(kernel_id=manager.kernel_id, kernel_spec=manager.kernel_spec, parent=manager)
    provisioner.server = path
    manager.provisioner = provisioner
    return manager


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Fork server of warm notebook kernels (started by the pipeline).")
    parser.add_argument("socket")
    parser.add_argument("--parent", type=int)
    args = parser.parse_args(argv)
    serve(args.socket, args.parent)
    return 0


if __name__ == "__main__":
    sys.exit(main())
