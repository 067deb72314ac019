"""Power and design simulation: studies like this one under stated assumptions (docs/robustness-and-power.md).

**Model.** ``clinics`` clinics, ``n_more`` of them in group 'more'; ``respondents`` valid responses
per clinic and wave (balanced). The composite score of response i of clinic c in wave w is

    y = difference * [w = post] * [c in more] + u_c + v_cw + e_cwi,

with u_c ~ N(0, var_clinic) (the clinic's stable level), v_cw ~ N(0, var_clinic_wave) (its
wave-to-wave movement) and e ~ N(0, var_residual). ``sd`` is the SD of a response within a group and
wave, ``icc`` the share of its variance between clinics, ``wave_correlation`` the correlation of a
clinic's true means in the two waves:

    var_clinic = wave_correlation * icc * sd^2, var_clinic_wave = (1 - wave_correlation) * icc * sd^2,
    var_residual = (1 - icc) * sd^2.

A clinic's change (post - pre mean) is then normal with mean ``difference`` (more) or 0 (less) and
variance 2 var_clinic_wave + 2 var_residual / respondents: the stable level cancels, the
wave-to-wave movement does not, and more respondents shrink only the second term.

**Simulation at clinic level.** Each replicate draws the clinic x wave cell means (normal with the
variance above) and the pooled within-cell sum of squares (var_residual x chi-square with
2 clinics (respondents - 1) df): the exact distribution of the statistics both analyses use when
responses are normal, at a cost independent of the number of respondents.

**Analyses of each replicate.** (1) The primary test: two-sided Student t-test of clinic-level
change (:func:`integrating.stats.t_tests`, the survey analysis's own test). (2) The mixed model
``composite ~ wave * group + (1 | clinic)`` (REML, Wald z of the interaction, two-sided), in closed
form: with balanced data its REML estimates are the ANOVA estimators of the two strata (truncated at
the boundary var_clinic = 0), the interaction estimate is the difference in mean change, and its SE is
sqrt(residual variance x 2 / respondents x (1/n_more + 1/n_less)). tests/test_power.py checks this
against the REML fits of response-level data (integrating.mixed_model, itself checked against
statsmodels and R).

**Seeds.** Replicates come in blocks of :data:`BLOCK`. Block b of a design draws from
``numpy.random.SeedSequence(seed, spawn_key=(*hash of the design, b))``; a replicate's numbers depend
only on the design, the seed, its block and its place in the block, never on the shard that computes
it, so any split into shards (and any number of cores) gives identical counts.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from . import stats
from .contract import MIN_CLINICS_PER_GROUP
from .errors import AnalysisError

#: Replicates per seed block.
BLOCK = 100
#: The config keys of the power workflow (and ``seed``).
POWER_KEYS = (
    "power_clinics", "power_share_more", "power_respondents", "power_icc", "power_wave_correlation", "power_sd",
    "power_differences", "power_alpha", "power_target", "power_replicates", "power_replicates_per_shard", "seed",
)
SHARD_COLUMNS = ["design", "block", "first", "last", "replicates", "rejections_student", "rejections_mixed",
                 "boundary_mixed"]
DESIGN_COLUMNS = [
    "clinics", "share_more", "n_more", "n_less", "respondents", "icc", "wave_correlation", "sd", "difference",
]
TABLE_COLUMNS = [
    *DESIGN_COLUMNS, "alpha", "change_sd", "effect_size", "replicates",
    "rejections_student", "power_student", "mcse_student", "power_student_analytic",
    "rejections_mixed", "power_mixed", "mcse_mixed", "boundary_mixed", "statement",
]
#: Said beside every power curve: power at the observed difference restates the observed p-value.
OBSERVED_POWER_NOTE = (
    "Power computed at the difference a study observed is observed (post hoc) power: a function of the "
    "observed p-value, it says nothing the p-value does not; power is shown over a range of plausible true "
    "differences instead.")
#: Environment variable through which the workflow tells each shard the grid and the run's start.
PROGRESS_ENV = "INTEGRATING_POWER_PROGRESS"


# ----------------------------------------------------------------------------------------------
# Designs


def n_more_of(clinics: int, share_more: float) -> int:
    """Clinics in 'more': share x clinics rounded to the nearest integer (halves up)."""
    return int(math.floor(share_more * clinics + 0.5))


@dataclass(frozen=True)
class Design:
    """One simulated study design (see the module docstring for the model)."""

    clinics: int
    n_more: int
    respondents: int
    icc: float
    wave_correlation: float
    sd: float
    difference: float

    def __post_init__(self):
        if self.clinics < 2 * MIN_CLINICS_PER_GROUP:
            raise AnalysisError(f"a design with {self.clinics} clinics; expected at least {2 * MIN_CLINICS_PER_GROUP} "
                                f"({MIN_CLINICS_PER_GROUP} per group)")
        for name, k in (("more", self.n_more), ("less", self.n_less)):
            if k < MIN_CLINICS_PER_GROUP:
                raise AnalysisError(f"the design with {self.clinics} clinics has {k} in group '{name}'; a two-group "
                                    f"comparison needs at least {MIN_CLINICS_PER_GROUP} per group (change "
                                    "power_share_more or power_clinics)")
        if self.respondents < 1:
            raise AnalysisError(f"{self.respondents} respondents per clinic and wave; expected at least 1")
        if not 0 <= self.icc < 1:
            raise AnalysisError(f"ICC {self.icc!r}; expected a number in [0, 1)")
        if not 0 <= self.wave_correlation <= 1:
            raise AnalysisError(f"wave correlation {self.wave_correlation!r}; expected a number in [0, 1]")
        if not self.sd > 0:
            raise AnalysisError(f"response SD {self.sd!r}; expected a positive number")

    @property
    def n_less(self) -> int:
        return self.clinics - self.n_more

    @property
    def var_clinic(self) -> float:
        return self.wave_correlation * self.icc * self.sd**2

    @property
    def var_clinic_wave(self) -> float:
        return (1 - self.wave_correlation) * self.icc * self.sd**2

    @property
    def var_residual(self) -> float:
        return (1 - self.icc) * self.sd**2

    @property
    def change_sd(self) -> float:
        """SD of a clinic's change (post - pre) within its group."""
        return math.sqrt(2 * self.var_clinic_wave + 2 * self.var_residual / self.respondents)

    @property
    def effect_size(self) -> float:
        """Standardised difference: difference / change_sd."""
        return self.difference / self.change_sd

    def key(self) -> str:
        """Canonical text of the design (floats by repr): the source of its seeds."""
        return "|".join(f"{k}={v!r}" for k, v in asdict(self).items())

    def seed_words(self) -> tuple[int, ...]:
        digest = hashlib.sha256(self.key().encode()).digest()
        return tuple(int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4))

    def name(self) -> str:
        return (f"n{self.clinics}_k{self.n_more}_m{self.respondents}_icc{self.icc!r}_r{self.wave_correlation!r}"
                f"_sd{self.sd!r}_d{self.difference!r}")


def make_design(clinics: int, share_more: float, respondents: int, icc: float, wave_correlation: float, sd: float,
                difference: float) -> Design:
    return Design(int(clinics), n_more_of(int(clinics), float(share_more)), int(respondents), float(icc),
                  float(wave_correlation), float(sd), float(difference))


# ----------------------------------------------------------------------------------------------
# The analyses, vectorised over replicates (rows)


def balanced_mixed_interaction(pre: np.ndarray, post: np.ndarray, ss_within: np.ndarray, k: int,
                               respondents: int) -> dict:
    """REML fit of ``composite ~ wave * group + (1 | clinic)`` for balanced data, in closed form.

    ``pre``, ``post``: clinic x wave means (rows = replicates, first ``k`` columns 'more');
    ``ss_within``: the pooled sum of squares of the responses around their clinic x wave means;
    ``respondents``: responses per clinic and wave. The within-clinic stratum (clinic x wave residual,
    n - 2 df, plus the within-cell residual, 2 n (m - 1) df) estimates the residual variance; the
    clinic stratum (n - 2 df) estimates residual + 2 m var_clinic; when its mean square is the smaller,
    REML sits at the boundary var_clinic = 0 and pools both strata. Returns arrays estimate, se, z,
    p (two-sided, normal) and boundary.
    """
    from scipy import special

    m = respondents
    n = pre.shape[1]
    change, level = post - pre, (post + pre) / 2
    g = np.zeros(n, dtype=bool)
    g[:k] = True

    def within(a):
        return ((a[:, g] - a[:, g].mean(axis=1, keepdims=True)) ** 2).sum(axis=1) + (
            (a[:, ~g] - a[:, ~g].mean(axis=1, keepdims=True)) ** 2).sum(axis=1)

    estimate = change[:, g].mean(axis=1) - change[:, ~g].mean(axis=1)
    ss_cw = m * within(change) / 2
    ss_b = 2 * m * within(level)
    df_b = df_cw = n - 2
    df_e = 2 * n * (m - 1)
    ms_w = (ss_cw + ss_within) / (df_cw + df_e)
    ms_b = ss_b / df_b
    boundary = ms_b < ms_w
    resid = np.where(boundary, (ss_b + ss_cw + ss_within) / (df_b + df_cw + df_e), ms_w)
    se = np.sqrt(resid * 2 / m * (1 / k + 1 / (n - k)))
    with np.errstate(invalid="ignore", divide="ignore"):
        z = estimate / se
    return {"estimate": estimate, "se": se, "z": z, "p": 2 * special.ndtr(-np.abs(z)), "boundary": boundary}


def draw(design: Design, seed: int, block: int, size: int) -> dict:
    """The first ``size`` replicates of seed block ``block``: clinic x wave means and within-cell SS.

    Two streams spawned from the block's SeedSequence: normals (each replicate's 5 x clinics numbers
    consecutive, so the first r replicates do not depend on ``size``) and the chi-square draws.
    """
    ss = np.random.SeedSequence(int(seed), spawn_key=(*design.seed_words(), int(block)))
    normal_ss, chi_ss = ss.spawn(2)
    n, k = design.clinics, design.n_more
    z = np.random.default_rng(normal_ss).standard_normal((size, 5 * n))
    u = z[:, :n] * math.sqrt(design.var_clinic)
    v = z[:, n:3 * n].reshape(size, n, 2) * math.sqrt(design.var_clinic_wave)
    e = z[:, 3 * n:].reshape(size, n, 2) * math.sqrt(design.var_residual / design.respondents)
    cells = u[:, :, None] + v + e
    cells[:, :k, 1] += design.difference
    df_e = 2 * n * (design.respondents - 1)
    if df_e > 0:
        ss_within = design.var_residual * 2 * np.random.default_rng(chi_ss).standard_gamma(df_e / 2, size=size)
    else:
        ss_within = np.zeros(size)
    return {"pre": cells[:, :, 0], "post": cells[:, :, 1], "ss_within": ss_within}


def simulate(design: Design, *, seed: int, start: int, stop: int, alpha: float = 0.05) -> list[dict]:
    """Replicates ``start`` .. ``stop - 1`` of a design, analysed; one row per (part of a) seed block.

    Rows: design (its :meth:`Design.key`), block, first, last (replicate numbers), replicates,
    rejections_student, rejections_mixed (p < ``alpha``), boundary_mixed (REML fits at var_clinic = 0).
    Only integer counts, so that any split into shards sums to the same totals.
    """
    if not 0 <= start <= stop:
        raise AnalysisError(f"replicate range {start}..{stop}; expected 0 <= start <= stop")
    rows = []
    for block in range(start // BLOCK, -(-stop // BLOCK)):
        first, last = max(start, block * BLOCK), min(stop, (block + 1) * BLOCK)  # last exclusive
        if first >= last:
            continue
        d = draw(design, seed, block, last - block * BLOCK)
        sl = slice(first - block * BLOCK, last - block * BLOCK)
        pre, post, ss_w = d["pre"][sl], d["post"][sl], d["ss_within"][sl]
        p_t = stats.t_tests(post - pre, design.n_more)["student"].p
        mixed = balanced_mixed_interaction(pre, post, ss_w, design.n_more, design.respondents)
        rows.append({"design": design.key(), "block": block, "first": first, "last": last - 1,
                     "replicates": last - first,
                     "rejections_student": int(np.count_nonzero(p_t < alpha)),
                     "rejections_mixed": int(np.count_nonzero(mixed["p"] < alpha)),
                     "boundary_mixed": int(np.count_nonzero(mixed["boundary"]))})
    return rows


# ----------------------------------------------------------------------------------------------
# Analytic power of the Student t-test


def analytic_power(clinics, n_more, change_sd, difference, alpha: float = 0.05):
    """Power of the two-sided Student t-test of clinic-level change (noncentral t), vectorised.

    Exact under the model: changes are normal with SD ``change_sd`` within each group.
    """
    from scipy import special

    n = np.asarray(clinics, dtype="float64")
    k = np.asarray(n_more, dtype="float64")
    df = n - 2
    scale = np.asarray(change_sd, dtype="float64") * np.sqrt(1 / k + 1 / (n - k))
    nc = np.asarray(difference, dtype="float64") / scale
    crit = special.stdtrit(df, 1 - alpha / 2)
    return special.nctdtr(df, nc, -crit) + 1 - special.nctdtr(df, nc, crit)


def clinics_needed(*, share_more: float, respondents: int, icc: float, wave_correlation: float, sd: float,
                   difference: float, alpha: float = 0.05, target: float = 0.8, max_clinics: int = 100_000) -> int:
    """Smallest number of clinics whose Student t-test reaches ``target`` power (analytic).

    Every total from 4 up is tried (with n_more = share x total, rounded; totals leaving a group
    with fewer than 2 clinics are skipped). Raises AnalysisError when no total up to ``max_clinics``
    reaches the target (e.g. a true difference of 0).
    """
    m = MIN_CLINICS_PER_GROUP
    sd_change = Design(2 * m, m, int(respondents), float(icc), float(wave_correlation), float(sd),
                       float(difference)).change_sd
    low = 2 * m
    while low <= max_clinics:  # windows of growing size, in order: the first hit is the smallest total
        n = np.arange(low, min(max_clinics, 4 * low + 60) + 1)
        k = np.floor(share_more * n + 0.5)
        ok = (k >= m) & (n - k >= m)
        n, k = n[ok], k[ok]
        if n.size:
            hit = np.flatnonzero(analytic_power(n, k, sd_change, difference, alpha) >= target)
            if hit.size:
                return int(n[hit[0]])
        low = min(max_clinics, 4 * low + 60) + 1
    raise AnalysisError(f"no study of up to {max_clinics} clinics reaches power {target:g} for a difference of "
                        f"{difference:g} (alpha {alpha:g}); expected a non-zero difference")


# ----------------------------------------------------------------------------------------------
# Grid and shards


def power_config(cfg: dict) -> dict:
    """The keys of ``cfg`` the power workflow uses (:data:`POWER_KEYS`)."""
    missing = [k for k in POWER_KEYS if k not in cfg]
    if missing:
        raise AnalysisError(f"the config lacks key(s) {', '.join(missing)}; expected the power_* keys of config.yaml")
    return {k: cfg[k] for k in POWER_KEYS}


def designs(cfg: dict) -> list[Design]:
    """Every design of the grid: clinics x respondents x ICC x difference (in that nesting order)."""
    c = power_config(cfg)
    return [make_design(n, c["power_share_more"], m, icc, c["power_wave_correlation"], c["power_sd"], d)
            for n, m, icc, d in itertools.product(c["power_clinics"], c["power_respondents"], c["power_icc"],
                                                  c["power_differences"])]


@dataclass(frozen=True)
class Shard:
    """A design, a replicate range and the decision level: one job of the workflow."""

    design: Design
    start: int
    stop: int
    seed: int
    alpha: float

    @property
    def name(self) -> str:
        return f"{self.design.name()}_a{self.alpha!r}_s{self.seed}_rep{self.start}-{self.stop - 1}"

    def spec(self) -> dict:
        return {"design": asdict(self.design), "start": self.start, "stop": self.stop, "seed": self.seed,
                "alpha": self.alpha}

    @classmethod
    def from_spec(cls, spec: dict) -> "Shard":
        return cls(Design(**spec["design"]), int(spec["start"]), int(spec["stop"]), int(spec["seed"]),
                   float(spec["alpha"]))


def shards(cfg: dict) -> list[Shard]:
    """The workflow's shards: each design's replicates 0 .. power_replicates - 1 in ranges of
    power_replicates_per_shard."""
    c = power_config(cfg)
    total, per = int(c["power_replicates"]), int(c["power_replicates_per_shard"])
    if total < 1 or per < 1:
        raise AnalysisError(f"power_replicates {total} and power_replicates_per_shard {per}; expected integers >= 1")
    return [Shard(d, start, min(total, start + per), int(c["seed"]), float(c["power_alpha"]))
            for d in designs(cfg) for start in range(0, total, per)]


def _csv_line(values) -> str:
    return ",".join(str(v) for v in values)


def run_shard(spec: dict, output, log=None) -> list[dict]:
    """Simulate one shard and write its rows (:data:`SHARD_COLUMNS`) to ``output``; timing to ``log``."""
    from . import io

    begin = time.perf_counter()
    shard = Shard.from_spec(spec)
    rows = simulate(shard.design, seed=shard.seed, start=shard.start, stop=shard.stop, alpha=shard.alpha)
    text = "\n".join([_csv_line(SHARD_COLUMNS)] + [_csv_line(
        ['"' + r["design"] + '"'] + [r[c] for c in SHARD_COLUMNS[1:]]) for r in rows]) + "\n"
    io.write_text(output, text)
    seconds = time.perf_counter() - begin
    if log is not None:
        io.write_json(log, {"shard": shard.name, "replicates": shard.stop - shard.start, "seconds": round(seconds, 3)})
    return rows


def progress_line(shard_dir, finished: str, seconds: float, environ=None) -> str:
    """One line of progress after a shard: shards of the grid done and the time left at this run's pace.

    Reads :data:`PROGRESS_ENV` (JSON with ``start``, the run's start in epoch seconds, and ``config``,
    the power keys), set by workflow/rules/power.smk; without it, only the shard's own time.
    """
    environ = os.environ if environ is None else environ
    head = f"power: shard {finished} done in {seconds:.2f} s"
    try:
        info = json.loads(environ[PROGRESS_ENV])
        names = [s.name for s in shards(info["config"])]
    except (KeyError, ValueError, TypeError, AnalysisError):
        return head
    now = time.time()
    shard_dir = Path(shard_dir)
    stamps = {}
    for name in names:
        path = shard_dir / f"{name}.csv"
        try:
            stamps[name] = path.stat().st_mtime
        except OSError:
            continue
    done, total = len(stamps), len(names)
    this_run = sum(1 for t in stamps.values() if t >= float(info["start"]))
    elapsed = max(now - float(info["start"]), 1e-9)
    left = total - done
    if left == 0 or this_run == 0:  # finished, or no pace to go by yet
        return f"{head}; {done} of {total} shards done"
    eta = left * elapsed / this_run
    return f"{head}; {done} of {total} shards done; about {_duration(eta)} left at this run's pace"


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


# ----------------------------------------------------------------------------------------------
# Merge


def read_shards(cfg: dict, shard_dir):
    """Every shard table of the grid, concatenated (an AnalysisError names a missing shard)."""
    import pandas as pd

    parts = []
    for s in shards(cfg):
        path = Path(shard_dir) / f"{s.name}.csv"
        if not path.exists():
            raise AnalysisError(f"shard {s.name} has no result ({path}); expected every shard of the grid to have run")
        parts.append(pd.read_csv(path, dtype={"design": str}))
    return pd.concat(parts, ignore_index=True)


def merge(cfg: dict, shard_rows) -> "pd.DataFrame":
    """``power.csv``: one row per design of the grid (:data:`TABLE_COLUMNS`, grid order).

    ``shard_rows``: the shard tables concatenated. Power = rejections / replicates; its Monte Carlo
    standard error sqrt(p (1 - p) / R); ``power_student_analytic`` is the noncentral-t power.
    """
    import pandas as pd

    c = power_config(cfg)
    alpha, total = float(c["power_alpha"]), int(c["power_replicates"])
    counts = shard_rows.groupby("design", sort=False)[
        ["replicates", "rejections_student", "rejections_mixed", "boundary_mixed"]].sum()
    rows = []
    for d in designs(cfg):
        if d.key() not in counts.index:
            raise AnalysisError(f"no simulated replicates for design {d.name()}; expected its shards in the input")
        got = counts.loc[d.key()]
        r = int(got["replicates"])
        if r != total:
            raise AnalysisError(f"design {d.name()} has {r} simulated replicates; expected power_replicates = {total}")
        ps, pm = int(got["rejections_student"]) / r, int(got["rejections_mixed"]) / r
        rows.append({
            "clinics": d.clinics, "share_more": float(c["power_share_more"]), "n_more": d.n_more, "n_less": d.n_less,
            "respondents": d.respondents, "icc": d.icc,
            "wave_correlation": d.wave_correlation, "sd": d.sd, "difference": d.difference, "alpha": alpha,
            "change_sd": d.change_sd, "effect_size": d.effect_size, "replicates": r,
            "rejections_student": int(got["rejections_student"]), "power_student": ps,
            "mcse_student": math.sqrt(ps * (1 - ps) / r),
            "power_student_analytic": float(analytic_power(d.clinics, d.n_more, d.change_sd, d.difference, alpha)),
            "rejections_mixed": int(got["rejections_mixed"]), "power_mixed": pm,
            "mcse_mixed": math.sqrt(pm * (1 - pm) / r),
            "boundary_mixed": int(got["boundary_mixed"]),
        })
        rows[-1]["statement"] = statement(rows[-1])
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def statement(row) -> str:
    """A power statement that names everything it depends on: clinics, ICC, respondents per clinic and
    wave, the assumed true difference (and SD, wave correlation, alpha)."""
    setting = (f"{int(row['clinics'])} clinics ({int(row['n_more'])} more, {int(row['n_less'])} less), ICC "
               f"{float(row['icc']):g}, {int(row['respondents'])} respondents per clinic and wave, response SD "
               f"{float(row['sd']):g}, wave correlation {float(row['wave_correlation']):g}, alpha {float(row['alpha']):g}")
    mixed = (f"the random-intercept-only mixed model, which ignores clinic-level change, rejects "
             f"{float(row['power_mixed']):.3f}")
    if float(row["difference"]) == 0:
        return (f"{setting}, no true difference: the Student t-test of clinic-level change rejects "
                f"{float(row['power_student']):.3f} (Monte Carlo SE {float(row['mcse_student']):.3f}); {mixed}")
    return (f"{setting}, assumed true difference in mean change {float(row['difference']):g}: power of the Student "
            f"t-test of clinic-level change {float(row['power_student']):.3f} (Monte Carlo SE "
            f"{float(row['mcse_student']):.3f}; analytic {float(row['power_student_analytic']):.3f}); {mixed}")


def report(cfg: dict, shard_dir, derived_dir, figures_dir, provenance_dir) -> "pd.DataFrame":
    """The merge step: power.csv, figure ``power`` and the provenance record ``power.json``."""
    import matplotlib.pyplot as plt

    from . import io, plotting, provenance
    from .power_figure import curve_data, difference_curve_data, needed_data, power_plot, target_difference

    begin = time.perf_counter()
    c = power_config(cfg)
    target = float(c["power_target"])
    run = provenance.Run("power", c, provenance_dir)
    grid = shards(cfg)
    run.input(*[Path(shard_dir) / f"{s.name}.csv" for s in grid])
    table = merge(cfg, read_shards(cfg, shard_dir))
    run.table(table, Path(derived_dir) / "power.csv")
    plotting.use_style(**plotting.config_settings(cfg))
    fig, _ = plotting.new_figure("two", 3.0, nrows=0)
    curve, needed = curve_data(table), needed_data(table, target=target)
    by_difference = difference_curve_data(table)
    power_plot(curve, needed, table, fig, target=target, differences=by_difference)
    plotting.finish(fig, False)
    diff = target_difference(table)
    grid_needed = needed_data(table, target=target, respondents=sorted(int(m) for m in table["respondents"].unique()))
    said = "; ".join(f"ICC {icc:g}, {m} respondents per clinic and wave: {n} clinics"
                     for icc, m, n in grid_needed.itertuples(index=False))
    run.figure(fig, Path(figures_dir) / "power",
               caption=f"Power of a study like this one (simulated: {int(c['power_replicates'])} replicates per "
                       f"design, points +/- 2 Monte Carlo SE; lines: analytic power of the Student t-test). "
                       f"(a) power against the number of clinics for a true difference in mean change of {diff:g} "
                       f"(filled: Student t-test of clinic-level change; open squares: patient-level mixed model with a "
                       f"clinic random intercept only, which ignores clinic-level change); "
                       f"(b) clinics needed for {target:.0%} power (analytic) against respondents per clinic and "
                       f"wave; (c) rejection rate with no true difference (alpha {float(c['power_alpha']):g}). "
                       f"Assumptions: response SD {float(c['power_sd']):g}, wave correlation "
                       f"{float(c['power_wave_correlation']):g}, share in 'more' {float(c['power_share_more']):g}. "
                       f"(d) analytic power of the Student t-test against the true difference at "
                       f"{int(by_difference['clinics'].iloc[0])} clinics (lines as in a). "
                       f"Clinics needed for {target:.0%} power at a true difference of {diff:g}: {said}. "
                       f"{OBSERVED_POWER_NOTE} Source: data/derived/power.csv.")
    plt.close(fig)
    record = run.record()
    timings = []
    for s in grid:
        log = Path(shard_dir) / "logs" / f"{s.name}.json"
        if log.exists():
            timings.append(json.loads(log.read_text())["seconds"])
    record["simulation"] = {"designs": len(table), "shards": len(grid),
                            "replicates_per_design": int(c["power_replicates"]),
                            "shard_seconds_total": round(sum(timings), 3), "shard_logs_found": len(timings),
                            "merge_seconds": round(time.perf_counter() - begin, 3)}
    io.write_json(Path(provenance_dir) / "power.json", record)
    return table


# ----------------------------------------------------------------------------------------------
# Command line of the workflow: python -m integrating.power shard|merge ...


def main(argv=None) -> int:
    import argparse

    from .errors import IntegratingError

    parser = argparse.ArgumentParser(prog="python -m integrating.power",
                                     description="Power simulation shards and merge.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("shard", help="simulate one shard")
    p.add_argument("spec", help="JSON of the shard (Shard.spec())")
    p.add_argument("output", type=Path)
    p.add_argument("--log", type=Path, default=None)
    p = sub.add_parser("merge", help="merge the shards into power.csv, the figure and the provenance record")
    p.add_argument("config", help="JSON of the power keys of config.yaml")
    p.add_argument("--shard-dir", type=Path, required=True)
    p.add_argument("--derived", type=Path, required=True)
    p.add_argument("--figures", type=Path, required=True)
    p.add_argument("--provenance", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        if args.command == "shard":
            begin = time.perf_counter()
            spec = json.loads(args.spec)
            run_shard(spec, args.output, args.log)
            line = progress_line(args.output.parent, Shard.from_spec(spec).name, time.perf_counter() - begin)
            print(line, flush=True)
        else:
            table = report(json.loads(args.config), args.shard_dir, args.derived, args.figures, args.provenance)
            print(f"power: merged {len(table)} designs into {args.derived / 'power.csv'}", flush=True)
    except IntegratingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
