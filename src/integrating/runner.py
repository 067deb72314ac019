"""Execute one notebook with papermill: the pipeline's only way of running a notebook."""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path

from . import paths, runlog
from .provenance import COMMAND_ENV  # the command that reruns the notebook, for its record

KERNEL = "integrating"


def run(notebook, output, parameters, *, cwd=None, site_cache=None) -> int:
    """Execute ``notebook`` into ``output`` with ``parameters`` (a dict or a JSON object string).

    The executed notebook (with papermill's metadata: parameters, start, end, duration and the status
    of each cell) is the run's log. With ``site_cache``, its page of the report site is rendered into
    that cache too (:func:`integrating.notebook_html.prerender`), after the job has ended when the run's
    server serves it. Returns 0, or 1 after printing which cell failed.
    """
    import asyncio

    from .kernels import kernel_manager

    if isinstance(parameters, str):
        parameters = json.loads(parameters)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    cwd = str(cwd or paths.ROOT)
    os.environ[COMMAND_ENV] = shlex.join(["integrating", "run-notebook", str(notebook), str(output),
                                          json.dumps(parameters, sort_keys=True), "--cwd", cwd])
    # The kernel starts before papermill is imported, so the two overlap (about 0.7 s a notebook); during
    # a pipeline run it is forked by the run's server of warm kernels (integrating.kernels).
    if site_cache is not None:  # the page's renderer is made while the notebook runs
        from .notebook_html import exporter_in_background

        exporter = exporter_in_background()
    loop = asyncio.new_event_loop()
    kernel = kernel_manager(KERNEL)
    loop.run_until_complete(kernel.start_kernel(cwd=cwd))
    try:
        import papermill
        from papermill.exceptions import PapermillExecutionError

        try:
            papermill.execute_notebook(
                str(notebook),
                str(output),
                parameters=parameters,
                kernel_name=KERNEL,
                cwd=cwd,
                progress_bar=False,
                request_save_on_cell_execute=False,  # write once at the end, not after every cell
                km=kernel,
            )
        except PapermillExecutionError as exc:
            message = [f"{notebook}: cell {exc.exec_count} failed: {exc.ename}: {exc.evalue}",
                       f"the executed notebook with the traceback is {output}"]
            print("\n".join(message), file=sys.stderr)
            runlog.note_error(message)
            return 1
    finally:
        loop.run_until_complete(kernel.shutdown_kernel(now=True))
        loop.close()
    if site_cache is not None:
        from .kernels import release
        from .notebook_html import prerender

        # Served by the run's server, the job ends here and the page is rendered after it, in parallel
        # with the steps that follow; the site step waits for it.
        prerender(output, site_cache, detach=lambda: release(0), exporter=exporter())
    return 0
