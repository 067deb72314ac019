"""Power simulation: the model, the analyses against scipy/statsmodels, seeds independent of sharding."""

from __future__ import annotations

import hashlib
import json
import math
import subprocess
import sys

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import scipy.stats as st
from statsmodels.stats.power import TTestIndPower

from integrating import io, mixed_model, paths, power, power_figure, survey
from integrating.errors import AnalysisError

TINY = {
    "power_clinics": [6, 10], "power_share_more": 0.5625, "power_respondents": [20], "power_icc": [0.1],
    "power_wave_correlation": 0.5, "power_sd": 0.6, "power_differences": [0.0, 0.3], "power_alpha": 0.05,
    "power_target": 0.8, "power_replicates": 250, "power_replicates_per_shard": 250, "seed": 99,
}


def design(**kw):
    args = dict(clinics=16, share_more=0.5625, respondents=50, icc=0.1, wave_correlation=0.5, sd=0.6, difference=0.15)
    args.update(kw)
    return power.make_design(**args)


def count(rows, key):
    return sum(r[key] for r in rows)


# ----------------------------------------------------------------------------------------------
# The model


def test_variance_components_and_change_sd():
    d = design()
    assert (d.n_more, d.n_less) == (9, 7)
    assert d.var_clinic + d.var_clinic_wave + d.var_residual == pytest.approx(0.36)
    assert (d.var_clinic + d.var_clinic_wave) / 0.36 == pytest.approx(0.1)  # the ICC
    assert d.var_clinic / (d.var_clinic + d.var_clinic_wave) == pytest.approx(0.5)  # the wave correlation
    assert d.change_sd == pytest.approx(math.sqrt(2 * 0.5 * 0.1 * 0.36 + 2 * 0.9 * 0.36 / 50))
    assert power.n_more_of(8, 0.5625) == 5 and power.n_more_of(4, 0.5) == 2


def test_simulated_cells_have_the_model_moments():
    d = design(clinics=6, share_more=0.5, respondents=10, icc=0.3, wave_correlation=0.4, difference=0.5)
    draws = power.draw(d, seed=1, block=0, size=20_000)
    change = draws["post"] - draws["pre"]
    assert change[:, :3].mean() == pytest.approx(0.5, abs=0.01)
    assert change[:, 3:].mean() == pytest.approx(0.0, abs=0.01)
    assert change[:, :3].std() == pytest.approx(d.change_sd, rel=0.02)
    assert change[:, 3:].std() == pytest.approx(d.change_sd, rel=0.02)
    assert draws["pre"].var() == pytest.approx(d.var_clinic + d.var_clinic_wave + d.var_residual / 10, rel=0.03)
    df = 2 * 6 * 9
    assert draws["ss_within"].mean() == pytest.approx(d.var_residual * df, rel=0.01)


def test_design_errors_name_the_problem():
    with pytest.raises(AnalysisError, match="group 'less'"):
        power.make_design(5, 0.7, 10, 0.1, 0.5, 0.6, 0.1)
    with pytest.raises(AnalysisError, match="ICC"):
        design(icc=1.0)
    with pytest.raises(AnalysisError, match="power_"):
        power.designs({"power_clinics": [8]})


# ----------------------------------------------------------------------------------------------
# Analyses against independent computations


def test_analytic_power_equals_statsmodels_and_scipy_noncentral_t():
    for d in (design(), design(clinics=24, respondents=200, difference=0.1), design(clinics=8, share_more=0.5)):
        ours = float(power.analytic_power(d.clinics, d.n_more, d.change_sd, d.difference, 0.05))
        ref = TTestIndPower().power(effect_size=d.effect_size, nobs1=d.n_more, ratio=d.n_less / d.n_more, alpha=0.05)
        assert ours == pytest.approx(ref, rel=1e-8)
        df, nc = d.clinics - 2, d.effect_size / math.sqrt(1 / d.n_more + 1 / d.n_less)
        crit = st.t.ppf(0.975, df)
        assert ours == pytest.approx(st.nct.sf(crit, df, nc) + st.nct.cdf(-crit, df, nc), rel=1e-8)


@pytest.mark.parametrize("difference", [0.0, 0.15])
def test_simulated_student_power_agrees_with_the_analytic_power(difference):
    """Clinic-level normal changes: the Student t power is exactly the noncentral t power."""
    d = design(difference=difference)
    rows = power.simulate(d, seed=5, start=0, stop=4000, alpha=0.05)
    p = count(rows, "rejections_student") / 4000
    mcse = math.sqrt(p * (1 - p) / 4000)
    analytic = float(power.analytic_power(d.clinics, d.n_more, d.change_sd, d.difference, 0.05))
    assert abs(p - analytic) < 4 * mcse + 1e-9


def test_student_t_rejections_of_the_simulation_equal_scipy():
    """The simulation's Student t-test (survey.t_tests) counts the replicates scipy rejects."""
    d = design(clinics=9, share_more=0.45, difference=0.2)
    rows = power.simulate(d, seed=2, start=0, stop=2 * power.BLOCK, alpha=0.1)
    rejections = 0
    for block in range(2):
        draws = power.draw(d, seed=2, block=block, size=power.BLOCK)
        change = draws["post"] - draws["pre"]
        p = st.ttest_ind(change[:, :d.n_more], change[:, d.n_more:], axis=1, equal_var=True).pvalue
        rejections += int(np.count_nonzero(p < 0.1))
    assert 0 < count(rows, "rejections_student") == rejections < 2 * power.BLOCK


def response_level(d, seed):
    """Balanced response-level data from the model, as a scored table and the groups."""
    rng = np.random.default_rng(seed)
    n, k, m = d.clinics, d.n_more, d.respondents
    u = rng.normal(0, math.sqrt(d.var_clinic), n)
    v = rng.normal(0, math.sqrt(d.var_clinic_wave), (n, 2))
    e = rng.normal(0, math.sqrt(d.var_residual), (n, 2, m))
    y = u[:, None, None] + v[:, :, None] + e
    y[:k, 1] += d.difference
    ids = [f"C{c:02d}" for c in range(n)]
    clinic = np.repeat(ids, 2 * m)
    wave = np.tile(np.repeat(["pre", "post"], m), n)
    scored = pd.DataFrame({"response_id": [f"R{i}" for i in range(y.size)], "clinic_id": clinic, "wave": wave,
                           "n_answered": 1, "composite": y.ravel(), "included": True})
    groups = pd.Series(["more"] * k + ["less"] * (n - k), index=ids)
    return scored, groups, y


@pytest.mark.parametrize("icc, seed", [(0.0, 3), (0.1, 1), (0.3, 2)])
def test_closed_form_mixed_model_equals_statsmodels_mixedlm(icc, seed):
    d = design(clinics=10, share_more=0.5, respondents=6, icc=icc, difference=0.2)
    scored, groups, y = response_level(d, seed)
    table = survey.clinic_change(scored, groups).table
    ref = mixed_model.mixedlm_random_intercept_only(scored, table)
    means = y.mean(axis=2)
    ss = ((y - means[:, :, None]) ** 2).sum()
    ours = power.balanced_mixed_interaction(means[None, :, 0], means[None, :, 1], np.array([ss]), d.n_more,
                                            d.respondents)
    assert ours["estimate"][0] == pytest.approx(ref.estimate, rel=1e-10)
    assert ours["z"][0] == pytest.approx(ref.statistic, rel=1e-4)
    assert ours["p"][0] == pytest.approx(ref.p_value, rel=1e-3, abs=1e-6)


def test_closed_form_mixed_model_at_the_boundary_pools_both_strata():
    """Clinic levels vary less than the within-clinic residual: REML sets var_clinic = 0 and the model is
    ordinary least squares with the four group x wave means: residual variance = RSS / (N - 4)."""
    m, k = 5, 2
    pre = np.array([[0.0, 0.1, 0.0, 0.1]])
    post = np.array([[0.5, 0.4, 0.1, 0.0]])
    ss_within = 30.0
    res = power.balanced_mixed_interaction(pre, post, np.array([ss_within]), k, m)
    assert bool(res["boundary"][0])
    cells = np.stack([pre[0], post[0]], axis=1)  # clinic x wave
    group_means = np.stack([cells[:k].mean(axis=0), cells[k:].mean(axis=0)])
    rss = ss_within + m * (((cells[:k] - group_means[0]) ** 2).sum() + ((cells[k:] - group_means[1]) ** 2).sum())
    resid = rss / (2 * 4 * m - 4)
    assert res["se"][0] == pytest.approx(math.sqrt(resid * 2 / m * (1 / k + 1 / 2)), rel=1e-12)
    change = post[0] - pre[0]
    assert res["estimate"][0] == pytest.approx(change[:k].mean() - change[k:].mean())


# ----------------------------------------------------------------------------------------------
# Seeds and shards


def test_results_do_not_depend_on_the_split_into_shards():
    d = design(clinics=8)
    whole = power.simulate(d, seed=3, start=0, stop=450)
    parts = [power.simulate(d, seed=3, start=a, stop=b) for a, b in ((300, 450), (0, 37), (37, 300))]
    for key in ("replicates", "rejections_student", "rejections_mixed", "boundary_mixed"):
        assert count(whole, key) == sum(count(p, key) for p in parts)
    assert count(whole, "replicates") == 450
    # a replicate's numbers do not depend on how many replicates of its block are drawn
    a = power.draw(d, 3, 2, 100)
    b = power.draw(d, 3, 2, 40)
    np.testing.assert_array_equal(a["pre"][:40], b["pre"])
    np.testing.assert_array_equal(a["ss_within"][:40], b["ss_within"])


def test_seeds_come_from_the_design_and_block():
    d = design()
    digest = hashlib.sha256(d.key().encode()).digest()
    assert d.seed_words() == tuple(int.from_bytes(digest[i:i + 4], "little") for i in range(0, 16, 4))
    assert "difference=0.15" in d.key() and "clinics=16" in d.key()
    other = design(difference=0.2)
    assert not np.array_equal(power.draw(d, 1, 0, 5)["pre"], power.draw(other, 1, 0, 5)["pre"])
    assert not np.array_equal(power.draw(d, 1, 0, 5)["pre"], power.draw(d, 1, 1, 5)["pre"])
    assert not np.array_equal(power.draw(d, 1, 0, 5)["pre"], power.draw(d, 2, 0, 5)["pre"])


def write_shards(cfg, folder):
    for s in power.shards(cfg):
        power.run_shard(s.spec(), folder / f"{s.name}.csv", folder / "logs" / f"{s.name}.json")


def test_one_shard_or_many_give_identical_tables(tmp_path):
    one = {**TINY, "power_replicates_per_shard": 250}
    many = {**TINY, "power_replicates_per_shard": 60}
    assert len(power.shards(one)) == 4 and len(power.shards(many)) == 4 * 5
    tables = []
    for name, cfg in (("one", one), ("many", many)):
        folder = tmp_path / name
        write_shards(cfg, folder)
        # the order of the shards does not matter either
        rows = power.read_shards(cfg, folder).iloc[::-1]
        table = power.merge(cfg, rows)
        io.write_table(table, folder / "power.csv")
        tables.append((folder / "power.csv").read_bytes())
    assert tables[0] == tables[1]
    table = pd.read_csv(tmp_path / "one" / "power.csv")
    assert list(table.columns) == power.TABLE_COLUMNS
    assert (table["replicates"] == 250).all()
    p = table["power_student"]
    assert np.allclose(table["mcse_student"], np.sqrt(p * (1 - p) / 250))


def test_merge_names_a_missing_shard(tmp_path):
    write_shards(TINY, tmp_path)
    victim = power.shards(TINY)[1]
    (tmp_path / f"{victim.name}.csv").unlink()
    with pytest.raises(AnalysisError, match=victim.name):
        power.read_shards(TINY, tmp_path)


def test_progress_line_counts_shards_and_estimates_time_left(tmp_path):
    cfg = {**TINY, "power_replicates_per_shard": 125}
    names = [s.name for s in power.shards(cfg)]
    for name in names[:3]:
        (tmp_path / f"{name}.csv").write_text("x\n")
    env = {power.PROGRESS_ENV: json.dumps({"start": 0, "config": cfg})}
    line = power.progress_line(tmp_path, names[2], 0.5, environ=env)
    assert f"3 of {len(names)} shards done" in line and "left at this run's pace" in line
    assert power.progress_line(tmp_path, names[2], 0.5, environ={}).endswith("done in 0.50 s")


# ----------------------------------------------------------------------------------------------
# Answers and figure


def test_clinics_needed_is_the_smallest_total_reaching_the_target():
    kw = dict(share_more=0.5, respondents=50, icc=0.1, wave_correlation=0.5, sd=0.6, difference=0.15)
    n = power.clinics_needed(**kw, target=0.8)
    sd = design(**{k: v for k, v in kw.items()}).change_sd
    totals = np.arange(4, n + 1)
    k = np.floor(0.5 * totals + 0.5)
    pw = power.analytic_power(totals, k, sd, 0.15)
    assert pw[-1] >= 0.8 and (pw[:-1] < 0.8).all()
    # balanced groups: statsmodels' (continuous) per-group size, rounded up, brackets the answer
    per_group = TTestIndPower().solve_power(effect_size=0.15 / sd, power=0.8, alpha=0.05, ratio=1)
    assert 2 * math.floor(per_group) <= n <= 2 * math.ceil(per_group) + 1
    with pytest.raises(AnalysisError, match="non-zero difference"):
        power.clinics_needed(**{**kw, "difference": 0.0}, max_clinics=500)


def test_more_respondents_help_less_when_clinics_move_between_waves():
    kw = dict(share_more=0.5, icc=0.1, sd=0.6, difference=0.15)
    few = power.clinics_needed(**kw, respondents=25, wave_correlation=0.5)
    many = power.clinics_needed(**kw, respondents=400, wave_correlation=0.5)
    stable = power.clinics_needed(**kw, respondents=400, wave_correlation=1.0)
    assert few > many > stable


def test_figure_data_and_plot(tmp_path):
    write_shards(TINY, tmp_path)
    table = power.merge(TINY, power.read_shards(TINY, tmp_path))
    curve = power_figure.curve_data(table)
    assert set(curve["kind"]) == {"simulated", "analytic"}
    sim = curve.loc[curve["kind"].eq("simulated") & curve["analysis"].eq("student")]
    assert len(sim) == int(table["difference"].eq(0.3).sum())
    needed = power_figure.needed_data(table, target=0.8, respondents=[10, 20, 40])
    assert needed["clinics_needed"].is_monotonic_decreasing
    fig = plt.figure()
    power_figure.power_plot(curve, needed, table, fig)
    plt.close(fig)
    # the caption's answer (the grid's respondents) against scipy's noncentral t: the smallest total
    # (n_more = 0.5625 x total, rounded, both groups >= 2) whose two-sided Student t-test has power >= 0.8
    needed = power_figure.needed_data(table, target=0.8, respondents=[20])
    assert needed[["icc", "respondents"]].values.tolist() == [[0.1, 20]]
    change_sd = math.sqrt(2 * 0.5 * 0.1 * 0.36 + 2 * 0.9 * 0.36 / 20)

    def noncentral_t_power(n):
        k = math.floor(0.5625 * n + 0.5)
        df, nc = n - 2, 0.3 / (change_sd * math.sqrt(1 / k + 1 / (n - k)))
        crit = st.t.ppf(0.975, df)
        return st.nct.sf(crit, df, nc) + st.nct.cdf(-crit, df, nc)

    totals = [n for n in range(4, 200) if 2 <= math.floor(0.5625 * n + 0.5) <= n - 2]
    expected = next(n for n in totals if noncentral_t_power(n) >= 0.8)
    assert needed["clinics_needed"].tolist() == [expected]
    assert (table["share_more"] == 0.5625).all() and table["n_more"].tolist() == [3, 3, 6, 6]


def test_power_statements_name_their_assumptions_and_the_difference_curve(tmp_path):
    write_shards(TINY, tmp_path)
    table = power.merge(TINY, power.read_shards(TINY, tmp_path))
    for row in table.to_dict("records"):
        text = row["statement"]
        assert f"ICC {row['icc']:g}" in text and f"{row['respondents']} respondents per clinic and wave" in text
        assert f"{row['clinics']} clinics" in text
        assert (f"assumed true difference in mean change {row['difference']:g}" in text if row["difference"]
                else "no true difference" in text)
        assert f"{row['power_student']:.3f}" in text and "ignores clinic-level change" in text
    curve = power_figure.difference_curve_data(table, points=5)
    # the grid's size closest to the published 16 clinics; differences 0 .. 2 x 0.3
    assert set(curve["clinics"]) == {10} and curve["difference"].max() == pytest.approx(0.6)
    row = curve.iloc[3]  # against scipy's noncentral t
    k = int(row["n_more"])
    assert k == 6
    change_sd = math.sqrt(2 * 0.5 * 0.1 * 0.36 + 2 * 0.9 * 0.36 / 20)
    df, nc = 8, row["difference"] / (change_sd * math.sqrt(1 / k + 1 / (10 - k)))
    crit = st.t.ppf(0.975, df)
    assert row["power"] == pytest.approx(st.nct.sf(crit, df, nc) + st.nct.cdf(-crit, df, nc), rel=1e-9)
    assert curve.loc[curve["difference"].eq(0), "power"].to_numpy() == pytest.approx(0.05)
    fig = plt.figure()
    power_figure.power_plot(power_figure.curve_data(table), power_figure.needed_data(table, respondents=[20]), table, fig,
                     differences=curve)
    assert len(fig.axes) == 4
    plt.close(fig)
    assert "observed (post hoc) power" in power.OBSERVED_POWER_NOTE


# ----------------------------------------------------------------------------------------------
# The workflow: identical results with 1 and 2 cores, 1 and many shards

PIPELINE = {**TINY, "power_clinics": [8], "power_replicates": 200}


def snakemake(workdir, cores, per_shard):
    snakefile = workdir / "Snakefile"
    snakefile.write_text(f'configfile: "{paths.CONFIG}"\ninclude: "{paths.ROOT / "workflow/rules/power.smk"}"\n')
    overrides = [f"{k}={json.dumps(v)}" for k, v in {**PIPELINE, "power_replicates_per_shard": per_shard}.items()]
    cmd = [sys.executable, "-m", "snakemake", "--cores", str(cores), "-s", str(snakefile), "--directory", str(workdir),
           "power", "--config", *overrides]
    return subprocess.run(cmd, capture_output=True, text=True)


SERIAL = """
import json, sys
from pathlib import Path
from integrating import power
cfg = json.loads(sys.argv[1])
out = Path(sys.argv[2])
shard_dir = out / "data/derived/power_shards"
for s in power.shards(cfg):
    power.run_shard(s.spec(), shard_dir / f"{s.name}.csv")
power.report(cfg, shard_dir, out / "data/derived", out / "figures", out / "reports/provenance")
"""


@pytest.mark.pipeline
def test_workflow_gives_identical_results_with_1_and_2_cores_and_1_and_many_shards(tmp_path):
    """One process, one shard per design (1 core) versus Snakemake on 2 cores with 3 shards per design."""
    a, b = tmp_path / "serial", tmp_path / "parallel"
    b.mkdir()
    serial = {**PIPELINE, "power_replicates_per_shard": 200}
    proc = subprocess.run([sys.executable, "-c", SERIAL, json.dumps(serial), str(a)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    proc = snakemake(b, 2, 70)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "6 of 6 shards done" in proc.stdout + proc.stderr
    assert len(list((a / "data/derived/power_shards").glob("*.csv"))) == 2
    assert len(list((b / "data/derived/power_shards").glob("*.csv"))) == 2 * 3
    for rel in ("data/derived/power.csv", "figures/power.svg", "figures/power.png", "figures/power.pdf",
                "figures/power.txt"):
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    record = json.loads((b / "reports/provenance/power.json").read_text())
    assert record["simulation"]["shards"] == 6 and record["parameters"]["power_replicates"] == 200
