"""Benchmark harness of the compendium: `make bench` (or `.venv/bin/python benchmarks/run.py`).

Measures, on this machine, and prints a table and writes benchmarks/results.json:
1. full pipeline run on the bundled data in a scratch folder, and the by-hand baseline (the same
   notebooks one after another with the papermill command line);
2. a no-op rerun;
3. the updated report after an edit: to the model file (a node's label), to one figure's code (a
   spacing of Figure A in diagram.py) and to one parameter (implementation_threshold), each with the
   steps that reran, and each as a ratio to the by-hand baseline. The edits are made in a copy of the
   compendium (its tracked and new files, imported through PYTHONPATH), never in this one. The full
   run starts a new server of warm kernels (the copy is new); the later runs find it waiting, as a
   run after an edit does (warm_kernels_idle_s); it is ended before the by-hand baseline;
4. scale: validation and every analysis function on synthetic studies of 16, 160 and 1,600 clinics,
   with peak memory (RSS), each size in its own process;
5. with --setup: environment set-up from an empty package cache.
Each timing is the median of --repeat repetitions.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
BIN = Path(PYTHON).parent
RESULTS = ROOT / "benchmarks" / "results.json"
sys.path.insert(0, str(ROOT / "benchmarks"))


def timed(cmd, **kwargs) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed:\n{proc.stderr[-3000:]}")
    return elapsed, proc


def snakemake(workdir: Path, *extra: str, repo: Path = ROOT) -> list[str]:
    return [str(BIN / "snakemake"), "--cores", "all", "-s", str(repo / "Snakefile"), "--directory", str(workdir),
            "--config", f"raw_dir={ROOT / 'data' / 'raw'}", *extra]


# The edits of measure 3: (file in the compendium, text, replacement).
EDITS = {
    "model_file": ("src/integrating/conceptual_model.yaml", "label: Stakeholder groups work apart",
                   "label: Stakeholder groups work separately"),
    "figure_code": ("src/integrating/diagram.py", "EDGE_PAD = 3.0", "EDGE_PAD = 3.5"),
}


def copy_compendium(target: Path) -> Path:
    """The compendium's tracked and new (not ignored) files, copied to ``target``."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        if (ROOT / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)
    return target


def edit(repo: Path, what: str) -> None:
    name, old, new = EDITS[what]
    text = (repo / name).read_text(encoding="utf-8")
    if old not in text:
        raise RuntimeError(f"benchmark edit '{what}': {name} no longer contains {old!r}; update EDITS")
    (repo / name).write_text(text.replace(old, new, 1), encoding="utf-8")


def rules_run(proc) -> list[str]:
    lines = (proc.stdout + proc.stderr).splitlines()
    return sorted({ln.split()[1].rstrip(":") for ln in lines if ln.startswith(("rule ", "localrule "))} - {"all"})


def pipeline_order() -> list[tuple[str, dict]]:
    """Notebooks and their parameters in the order the pipeline runs them (from a dry run)."""
    with tempfile.TemporaryDirectory() as tmp:
        _, proc = timed(snakemake(Path(tmp), "-n", "--printshellcmds"))
    jobs = []
    for line in proc.stdout.splitlines():
        if " run-notebook " in line:
            parts = line.split(" run-notebook ", 1)[1].split(" ", 2)
            params = json.loads(parts[2].rsplit(" --cwd", 1)[0].strip().strip("'"))
            # The workflow's paths into the compendium are relative to its working folder: make them absolute.
            if not Path(params.get("model_file", "/")).is_absolute():
                params["model_file"] = str((Path(tmp) / params["model_file"]).resolve())
            jobs.append((str((Path(tmp) / parts[0]).resolve()), params))
    return jobs


def by_hand(order, workdir: Path) -> float:
    """The same notebooks, one after another, with the papermill command line."""
    start = time.perf_counter()
    timed([str(BIN / "integrating"), "validate", str(ROOT / "data" / "raw")])
    for notebook, params in order:
        params = dict(params, raw_dir=str(ROOT / "data" / "raw"))
        cmd = [str(BIN / "papermill"), notebook, str(workdir / "by-hand" / Path(notebook).name), "-k", "integrating",
               "--cwd", str(workdir)]
        for key, value in params.items():
            cmd += ["-y", json.dumps({key: value})]
        (workdir / "by-hand").mkdir(parents=True, exist_ok=True)
        timed(cmd)
    return time.perf_counter() - start


def bench_pipeline(repeat: int) -> dict:
    from integrating import kernels

    order = pipeline_order()
    measures = ("full", "by_hand", "noop", *EDITS, "param")
    samples = {m: [] for m in measures}
    reran = {}
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            repo = copy_compendium(Path(tmp) / "compendium")
            env = dict(os.environ, PYTHONPATH=str(repo / "src"))
            work = Path(tmp) / "run"
            work.mkdir()
            before = kernels.servers()
            samples["full"].append(timed(snakemake(work, repo=repo), env=env)[0])
            samples["noop"].append(timed(snakemake(work, repo=repo), env=env)[0])
            for what in EDITS:
                edit(repo, what)
                t, proc = timed(snakemake(work, repo=repo), env=env)
                samples[what].append(t)
                reran[what] = rules_run(proc)
            t, proc = timed(snakemake(work, "implementation_threshold=0.55", repo=repo), env=env)
            samples["param"].append(t)
            reran["param"] = rules_run(proc)
            for path in kernels.servers() - before:  # this copy's own
                kernels.end(path)
            hand_dir = Path(tmp) / "hand"
            hand_dir.mkdir()
            samples["by_hand"].append(by_hand(order, hand_dir))
    med = {m: statistics.median(samples[m]) for m in measures}
    hand = med["by_hand"]
    return {
        "notebooks": [Path(nb).stem for nb, _ in order],
        "full_run_s": med["full"],
        "by_hand_s": hand,
        "ratio_full_to_by_hand": med["full"] / hand,
        "noop_rerun_s": med["noop"],
        "one_parameter_change_s": med["param"],
        "one_parameter_change_reran": reran["param"],
        "ratio_parameter_change_to_by_hand": med["param"] / hand,
        "edits": {what: {"file": EDITS[what][0], "seconds": med[what], "ratio_to_by_hand": med[what] / hand,
                         "reran": reran[what]} for what in EDITS},
        "samples": samples,
    }


def bench_scale(sizes, repeat: int) -> dict:
    out = {}
    for size in sizes:
        runs = []
        with tempfile.TemporaryDirectory() as tmp:
            raw = Path(tmp) / "raw"
            timed([str(BIN / "integrating"), "synth", "--clinics", str(size), "--out", str(raw)])
            for _ in range(repeat):
                _, proc = timed([PYTHON, str(ROOT / "benchmarks" / "scale.py"), str(raw)])
                runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        steps = {k: statistics.median(r["steps"][k] for r in runs) for k in runs[0]["steps"]}
        out[str(size)] = {
            "total_s": statistics.median(r["total_s"] for r in runs),
            "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
            "rows": runs[0]["rows"],
            "steps_s": steps,
        }
    if "160" in out and "1600" in out:
        out["growth_160_to_1600"] = out["1600"]["total_s"] / out["160"]["total_s"]
    return out


def bench_setup() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, UV_CACHE_DIR=str(Path(tmp) / "uv-cache"), PIP_NO_CACHE_DIR="1")
        clone = Path(tmp) / "clone"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        start = time.perf_counter()
        subprocess.run(["make", "-C", str(clone), "setup"], check=True, env=env, capture_output=True)
        return {"setup_empty_cache_s": time.perf_counter() - start}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="repetitions per measurement [3]")
    parser.add_argument("--sizes", type=int, nargs="+", default=[16, 160, 1600], help="clinics for the scale runs")
    parser.add_argument("--skip-pipeline", action="store_true")
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument("--setup", action="store_true", help="also time the set-up from an empty package cache")
    args = parser.parse_args(argv)

    results = {"machine": {"cores": os.cpu_count(), "platform": platform.platform(),
                           "python": platform.python_version()}, "repeat": args.repeat}
    if not args.skip_pipeline:
        results["pipeline"] = bench_pipeline(args.repeat)
    if not args.skip_scale:
        results["scale"] = bench_scale(args.sizes, args.repeat)
    if args.setup:
        results["setup"] = bench_setup()
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(report(results))
    return 0


def report(results: dict) -> str:
    rows = [("cores", str(results["machine"]["cores"]), "")]
    p = results.get("pipeline")
    if p:
        rows += [
            ("full run (pipeline)", f"{p['full_run_s']:.1f} s", "target < 20 s"),
            ("by hand (papermill CLI, sequential)", f"{p['by_hand_s']:.1f} s", ""),
            ("ratio full / by hand", f"{p['ratio_full_to_by_hand']:.2f}", "target <= 0.5"),
            ("no-op rerun", f"{p['noop_rerun_s']:.2f} s", "target < 1.5 s"),
            ("implementation_threshold change", f"{p['one_parameter_change_s']:.1f} s",
             "reran: " + ", ".join(p["one_parameter_change_reran"])),
            ("ratio parameter change / by hand", f"{p['ratio_parameter_change_to_by_hand']:.2f}", "target <= 0.35"),
        ]
        for what, e in p["edits"].items():
            rows += [(f"edit of the {what.replace('_', ' ')} ({Path(e['file']).name})", f"{e['seconds']:.1f} s",
                      "reran: " + ", ".join(e["reran"])),
                     (f"ratio {what.replace('_', ' ')} edit / by hand", f"{e['ratio_to_by_hand']:.2f}", "target <= 0.15")]
    s = results.get("scale")
    if s:
        for size in (k for k in s if k.isdigit()):
            rows.append((f"scale {size} clinics: validation + analyses", f"{s[size]['total_s']:.1f} s",
                         f"peak RSS {s[size]['peak_rss_mb']:.0f} MB"))
        if "growth_160_to_1600" in s:
            rows.append(("growth 160 -> 1600 clinics", f"{s['growth_160_to_1600']:.1f}x", "target <= 12x"))
    if "setup" in results:
        rows.append(("set-up from an empty cache", f"{results['setup']['setup_empty_cache_s']:.0f} s", "target < 120 s"))
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"{a:<{width}}  {b:>10}  {c}" for a, b, c in rows)


if __name__ == "__main__":
    sys.exit(main())
