"""Execute one notebook with papermill: the pipeline's only way of running a notebook."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from . import paths

KERNEL = "integrating"


def run(notebook, output, parameters, *, cwd=None) -> int:
    """Execute ``notebook`` into ``output`` with ``parameters`` (a dict or a JSON object string).

    The executed notebook (with papermill's metadata: parameters, start, end, duration and the status
    of each cell) is the run's log. Returns 0, or 1 after printing which cell failed.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    if isinstance(parameters, str):
        parameters = json.loads(parameters)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    try:
        papermill.execute_notebook(
            str(notebook),
            str(output),
            parameters=parameters,
            kernel_name=KERNEL,
            cwd=str(cwd or paths.ROOT),
            progress_bar=False,
            request_save_on_cell_execute=False,  # write once at the end, not after every cell
        )
    except PapermillExecutionError as exc:
        print(f"{notebook}: cell {exc.exec_count} failed: {exc.ename}: {exc.evalue}\n"
              f"the executed notebook with the traceback is {output}", file=sys.stderr)
        return 1
    return 0
