"""The power simulation's figure (``figures/power``): power against clinics, clinics needed, false
positives and power against the true difference, drawn from ``power.csv``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .contract import MIN_CLINICS_PER_GROUP
from .errors import AnalysisError
from .power import Design, analytic_power, clinics_needed, n_more_of

def target_difference(table) -> float:
    nonzero = sorted({float(d) for d in table["difference"] if d != 0})
    if not nonzero:
        raise AnalysisError("the power grid has no non-zero difference; expected at least one in power_differences")
    return nonzero[-1]


def curve_data(table, *, points: int = 60) -> "pd.DataFrame":
    """Power against the number of clinics at the largest non-zero difference of the grid.

    Rows of kind 'simulated' (each design of the table at that difference: Student and mixed model
    with Monte Carlo SE) and 'analytic' (Student t, noncentral t, on a fine grid of clinics from 4 to
    1.25 x the largest in the table). Columns: kind, analysis, respondents, icc, clinics, power, mcse.
    """
    import pandas as pd

    diff = target_difference(table)
    sim = table.loc[table["difference"].eq(diff)]
    parts = []
    for analysis in ("student", "mixed"):
        parts.append(pd.DataFrame({"kind": "simulated", "analysis": analysis, "respondents": sim["respondents"],
                                   "icc": sim["icc"], "clinics": sim["clinics"], "power": sim[f"power_{analysis}"],
                                   "mcse": sim[f"mcse_{analysis}"]}))
    first = table.iloc[0]
    share = float(first["share_more"])
    low = 2 * MIN_CLINICS_PER_GROUP
    n = np.unique(np.linspace(low, max(8, int(table["clinics"].max() * 1.25)), points).round().astype(int))
    k = np.floor(share * n + 0.5)
    ok = (k >= MIN_CLINICS_PER_GROUP) & (n - k >= MIN_CLINICS_PER_GROUP)
    n, k = n[ok], k[ok]
    for (m, icc), _ in sim.groupby(["respondents", "icc"], sort=True):
        d = Design(low, MIN_CLINICS_PER_GROUP, int(m), float(icc), float(first["wave_correlation"]), float(first["sd"]),
                   diff)
        parts.append(pd.DataFrame({"kind": "analytic", "analysis": "student", "respondents": int(m), "icc": float(icc),
                                   "clinics": n, "power": analytic_power(n, k, d.change_sd, diff, float(first["alpha"])),
                                   "mcse": np.nan}))
    out = pd.concat(parts, ignore_index=True)
    out = out.sort_values(["kind", "analysis", "icc", "respondents", "clinics"], kind="mergesort")
    return out.reset_index(drop=True)


def needed_data(table, *, target: float = 0.8, respondents=None) -> "pd.DataFrame":
    """Clinics needed for ``target`` power (analytic Student t) against respondents per clinic and wave,
    one line per ICC of the table, at the largest non-zero difference. Columns: icc, respondents,
    clinics_needed."""
    import pandas as pd

    diff = target_difference(table)
    first = table.iloc[0]
    share = float(first["share_more"])
    if respondents is None:
        top = int(max(400, table["respondents"].max() * 2))
        respondents = np.unique(np.geomspace(5, top, 24).round().astype(int))
    rows = [(float(icc), int(m), clinics_needed(share_more=share, respondents=int(m), icc=float(icc),
                                                wave_correlation=float(first["wave_correlation"]), sd=float(first["sd"]),
                                                difference=diff, alpha=float(first["alpha"]), target=target))
            for icc in sorted(table["icc"].unique()) for m in respondents]
    return pd.DataFrame(rows, columns=["icc", "respondents", "clinics_needed"])


def difference_curve_data(table, *, clinics: int | None = None, points: int = 41) -> "pd.DataFrame":
    """Analytic power of the Student t-test against the true difference (0 to twice the largest
    non-zero difference of the grid), for each ICC and respondents per clinic and wave of the table, at
    ``clinics`` clinics (default: the grid's size closest to 16, the published design). Columns:
    clinics, n_more, icc, respondents, difference, power."""
    import pandas as pd

    first = table.iloc[0]
    grid = sorted(int(n) for n in table["clinics"].unique())
    n = int(clinics) if clinics is not None else min(grid, key=lambda v: (abs(v - 16), v))
    k = n_more_of(n, float(first["share_more"]))
    diffs = np.linspace(0.0, 2 * target_difference(table), points)
    parts = []
    for (icc, m), _ in table.groupby(["icc", "respondents"], sort=True):
        d = Design(n, k, int(m), float(icc), float(first["wave_correlation"]), float(first["sd"]), 0.0)
        parts.append(pd.DataFrame({"clinics": n, "n_more": k, "icc": float(icc), "respondents": int(m),
                                   "difference": diffs,
                                   "power": analytic_power(n, k, d.change_sd, diffs, float(first["alpha"]))}))
    return pd.concat(parts, ignore_index=True)


def power_plot(curve, needed, table, fig, *, target: float = 0.8, differences=None) -> None:
    """Three panels: (a) power against clinics (analytic lines, simulated points with +/- 2 MC SE);
    (b) clinics needed for ``target`` power against respondents per clinic, per ICC; (c) rejection rate
    when there is no true difference (Student t and mixed model), if the grid has a zero difference;
    and, with ``differences`` (:func:`difference_curve_data`), (d) power against the true difference."""
    from . import plotting

    widths = [1.3, 1, 1] + ([1] if differences is not None else [])
    axes = fig.subplots(1, len(widths), gridspec_kw={"width_ratios": widths})
    diff = target_difference(table)
    alpha = float(table["alpha"].iloc[0])
    resp = sorted(curve["respondents"].unique())
    iccs = sorted(curve["icc"].unique())
    colors = {m: plotting.OKABE_ITO[i % len(plotting.OKABE_ITO)] for i, m in enumerate(resp)}
    styles = {icc: ls for icc, ls in zip(iccs, ["-", "--", ":", "-."] * 10)}
    ax = axes[0]
    for (m, icc), rows in curve.loc[curve["kind"].eq("analytic")].groupby(["respondents", "icc"], sort=True):
        ax.plot(rows["clinics"], rows["power"], color=colors[m], ls=styles[icc], lw=1,
                label=f"{m} respondents, ICC {icc:g}")
    sim = curve.loc[curve["kind"].eq("simulated")]
    for (analysis, m, icc), rows in sim.groupby(["analysis", "respondents", "icc"], sort=True):
        filled = analysis == "student"
        ax.errorbar(rows["clinics"], rows["power"], yerr=2 * rows["mcse"], fmt="o" if filled else "s", ms=3,
                    color=colors[m], mfc=colors[m] if filled else "white", lw=0.8, capsize=1.5)
    ax.axhline(target, color="#666666", lw=0.6, ls="--")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("Clinics")
    ax.set_ylabel("Power")
    ax.set_title(f"a  True difference {diff:g}", loc="left")
    from matplotlib.lines import Line2D

    handles, _ = ax.get_legend_handles_labels()
    handles += [Line2D([], [], color="#000000", marker="o", lw=0, ms=3, label="simulated, Student t"),
                Line2D([], [], color="#000000", marker="s", mfc="white", lw=0, ms=3, label="simulated, mixed model (intercept only)")]
    # one legend for panels a and c, above the panels (clear of the curves whatever the grid)
    fig.legend(handles=handles, frameon=False, loc="outside upper center", ncols=min(len(handles), 3))

    bx = axes[1]
    for icc, rows in needed.groupby("icc", sort=True):
        bx.plot(rows["respondents"], rows["clinics_needed"], color="#000000", ls=styles.get(icc, "-"), lw=1,
                label=f"ICC {icc:g}")
    bx.set_xscale("log")
    bx.set_xlabel("Respondents per clinic and wave")
    bx.set_ylabel(f"Clinics for {target:.0%} power")
    bx.set_title(f"b  Clinics for {target:.0%} power", loc="left")
    bx.set_ylim(0, None)
    bx.legend(frameon=False, fontsize=6)

    cx = axes[2]
    null = table.loc[table["difference"].eq(0)]
    if len(null):
        for (m, icc), rows in null.groupby(["respondents", "icc"], sort=True):
            for analysis, marker in (("student", "o"), ("mixed", "s")):
                filled = analysis == "student"
                cx.errorbar(rows["clinics"], rows[f"power_{analysis}"], yerr=2 * rows[f"mcse_{analysis}"],
                            fmt=marker, ms=3, color=colors.get(m, "#000000"), ls=styles.get(icc, "-"), lw=0.6,
                            mfc=colors.get(m, "#000000") if filled else "white", capsize=1.5)
        cx.axhline(alpha, color="#666666", lw=0.6, ls="--")
        cx.set_ylim(0, max(0.2, float(null[["power_student", "power_mixed"]].to_numpy().max()) * 1.45))
        cx.set_xlabel("Clinics")
        cx.set_ylabel("Rejection rate")
    else:
        cx.text(0.5, 0.5, "no zero difference in the grid", ha="center", va="center", transform=cx.transAxes)
        cx.set_axis_off()
    cx.set_title("c  No true difference", loc="left")
    if differences is not None:
        dx = axes[3]
        for (m, icc), rows in differences.groupby(["respondents", "icc"], sort=True):
            dx.plot(rows["difference"], rows["power"], color=colors.get(m, "#000000"), ls=styles.get(icc, "-"), lw=1)
        dx.axhline(target, color="#666666", lw=0.6, ls="--")
        dx.axvline(diff, color="#999999", lw=0.6, ls=":")
        dx.set_ylim(0, 1.02)
        dx.set_xlabel("True difference in mean change")
        dx.set_ylabel("Power (Student t)")
        dx.set_title(f"d  {int(differences['clinics'].iloc[0])} clinics", loc="left")
