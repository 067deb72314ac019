"""Patient-survey effect analysis: every number against a hand-worked value or an independent computation."""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.weightstats import DescrStatsW

from integrating import mixed_model, rounding, stats, survey
from integrating.errors import AnalysisError

# ----------------------------------------------------------------------------------------------
# Fixtures


def items_table(extra_scale=False):
    rows = [
        ("a", "A", 1, 5, False, True),
        ("b", "B", 1, 5, False, True),
        ("c", "C", 1, 5, True, True),  # reversed: v -> 6 - v
        ("d", "D", 1, 5, False, True),
        ("x", "not in composite", 1, 5, False, False),
    ]
    if extra_scale:
        rows[3] = ("d", "D", 0, 10, True, True)  # reversed on 0..10: v -> 10 - v
    return pd.DataFrame(rows, columns=["item", "text", "scale_min", "scale_max", "reverse", "in_composite"])


def responses_table(rows):
    """rows: (response_id, clinic_id, wave, a, b, c, d, x) with None = unanswered."""
    df = pd.DataFrame(rows, columns=["response_id", "clinic_id", "wave", "a", "b", "c", "d", "x"])
    for c in "abcdx":
        df[c] = pd.to_numeric(df[c]).astype("float64")
    return df


def scored_from(clinic_wave_values, groups=None):
    """A scored table from {(clinic, wave): [composites]}."""
    rows = []
    i = 0
    for (cid, wave), vals in clinic_wave_values.items():
        for v in vals:
            i += 1
            rows.append((f"R{i:05d}", cid, wave, 4, float(v), True))
    return pd.DataFrame(rows, columns=survey.SCORED_COLUMNS)


def change_table(change, groups, pre=None):
    change = np.asarray(change, float)
    pre = np.linspace(3.0, 4.0, change.size) if pre is None else np.asarray(pre, float)
    return pd.DataFrame({
        "clinic_id": [f"C{i:02d}" for i in range(change.size)],
        "group": list(groups),
        "n_pre": 10, "n_post": 10,
        "mean_pre": pre, "mean_post": pre + change, "change": change,
    })


# Clinic-level changes used throughout: 9 'more', 7 'less' (the published design), no ties.
RNG = np.random.default_rng(7)
CHANGE = np.round(np.r_[RNG.normal(0.07, 0.12, 9), RNG.normal(-0.08, 0.1, 7)], 6)
GROUPS = np.array(["more"] * 9 + ["less"] * 7)


# ----------------------------------------------------------------------------------------------
# Composite scores


def test_composite_hand_worked():
    resp = responses_table([
        ("r1", "A", "pre", 5, 4, 2, 3, 1),        # c reversed: 4 -> (5 + 4 + 4 + 3) / 4 = 4.0
        ("r2", "A", "pre", 5, None, 1, None, 1),  # 2 of 4 answered: exactly half -> (5 + 5) / 2 = 5.0
        ("r3", "A", "post", None, None, 3, None, 5),  # 1 of 4 answered: excluded
        ("r4", "B", "post", 1, 2, 5, 4, None),    # (1 + 2 + 1 + 4) / 4 = 2.0; x does not count
    ])
    out = survey.composite_scores(resp, items_table(), min_answered=0.5)
    assert list(out.columns) == survey.SCORED_COLUMNS
    assert out["response_id"].tolist() == ["r1", "r2", "r3", "r4"]
    assert out["n_answered"].tolist() == [4, 2, 1, 4]
    assert out["included"].tolist() == [True, True, False, True]
    np.testing.assert_allclose(out["composite"].to_numpy()[[0, 1, 3]], [4.0, 5.0, 2.0])
    assert np.isnan(out["composite"].iloc[2])


def test_composite_other_scale_and_threshold():
    resp = responses_table([
        ("r1", "A", "pre", 5, 5, 1, 0, 3),   # d on 0..10 reversed: 0 -> 10: (5 + 5 + 5 + 10) / 4 = 6.25
        ("r2", "A", "pre", 4, 2, None, None, 3),
    ])
    out = survey.composite_scores(resp, items_table(extra_scale=True), min_answered=0.5)
    assert out["composite"].iloc[0] == pytest.approx(6.25)
    assert out["composite"].iloc[1] == pytest.approx(3.0)
    # 0.75 of 4 items = 3 answers needed: r2 (2 answered) is excluded; 0.6 * 5-style float products are safe.
    strict = survey.composite_scores(resp, items_table(extra_scale=True), min_answered=0.75)
    assert strict["included"].tolist() == [True, False]
    five = pd.DataFrame([(f"i{j}", "t", 1, 5, False, True) for j in range(5)], columns=items_table().columns)
    r5 = pd.DataFrame({"response_id": ["r"], "clinic_id": ["A"], "wave": ["pre"],
                       "i0": [1.0], "i1": [2.0], "i2": [3.0], "i3": [np.nan], "i4": [np.nan]})
    assert survey.composite_scores(r5, five, min_answered=0.6)["included"].tolist() == [True]


def test_composite_errors():
    resp = responses_table([("r1", "A", "pre", 5, 4, 2, 3, 1)])
    none = items_table().assign(in_composite=False)
    with pytest.raises(AnalysisError, match="in_composite"):
        survey.composite_scores(resp, none)
    with pytest.raises(AnalysisError, match="lacks column"):
        survey.composite_scores(resp.drop(columns="b"), items_table())
    with pytest.raises(AnalysisError, match="wave"):
        survey.composite_scores(resp.assign(wave="middle"), items_table())
    with pytest.raises(AnalysisError, match="composite_min_answered"):
        survey.composite_scores(resp, items_table(), min_answered=0)


def test_composite_vectorised_300k():
    n = 300_000
    rng = np.random.default_rng(1)
    vals = rng.integers(1, 6, size=(n, 5)).astype(float)
    vals[rng.random((n, 5)) < 0.1] = np.nan
    resp = pd.DataFrame({"response_id": np.arange(n).astype(str), "clinic_id": (np.arange(n) % 1600).astype(str),
                         "wave": np.where((np.arange(n) // 1600) % 2, "post", "pre")})
    for j, c in enumerate("abcdx"):
        resp[c] = vals[:, j]
    out = survey.composite_scores(resp, items_table())
    cc = survey.clinic_change(out, pd.DataFrame({"clinic_id": np.arange(1600).astype(str),
                                                 "group": np.where(np.arange(1600) % 3, "more", "less")}))
    # Independent check on a few rows: pandas row-wise mean after reversing.
    sub = resp.iloc[:200, 3:7].copy()
    sub["c"] = 6 - sub["c"]
    expected = sub.mean(axis=1).where(sub.notna().sum(axis=1) >= 2)
    np.testing.assert_allclose(out["composite"].iloc[:200], expected, equal_nan=True)
    assert len(cc.table) == 1600


# ----------------------------------------------------------------------------------------------
# Clinic change and exclusions


def fixture_study():
    rows = [
        # A (more): pre composites 3, 4 -> 3.5; post 4, 5 -> 4.5; change +1.0
        ("r01", "A", "pre", 3, 3, 3, 3, 1), ("r02", "A", "pre", 4, 4, 2, 4, 1),
        ("r03", "A", "post", 4, 4, 2, 4, 1), ("r04", "A", "post", 5, 5, 1, 5, 1),
        ("r05", "A", "post", 5, None, None, None, 1),  # 1 of 4 answered: excluded response
        # B (less): pre 4; post 3.5 -> change -0.5
        ("r06", "B", "pre", 4, 4, 2, 4, 1), ("r07", "B", "post", 3, 4, 2, 3, 1),
        # C (more): only pre responses -> excluded clinic
        ("r08", "C", "pre", 2, 2, 4, 2, 1),
        # D: responses but not in the group table -> excluded clinic
        ("r09", "D", "pre", 2, 2, 4, 2, 1), ("r10", "D", "post", 2, 2, 4, 2, 1),
        # F (less): post only valid (its pre response is below the rule)
        ("r11", "F", "pre", None, None, 1, None, 1), ("r12", "F", "post", 2, 2, 4, 2, 1),
    ]
    groups = pd.DataFrame({"clinic_id": ["A", "B", "C", "E", "F"], "n_changes": 1, "n_implemented": 1,
                           "implementation_share": 1.0, "group": ["more", "less", "more", "less", "less"]})
    return responses_table(rows), groups


def test_clinic_change_hand_worked():
    resp, groups = fixture_study()
    scored = survey.composite_scores(resp, items_table())
    cc = survey.clinic_change(scored, groups, min_answered=0.5)
    t = cc.table
    assert list(t.columns) == survey.CLINIC_CHANGE_COLUMNS
    assert t["clinic_id"].tolist() == ["A", "B"]
    assert t["group"].tolist() == ["more", "less"]
    assert t["n_pre"].tolist() == [2, 1] and t["n_post"].tolist() == [2, 1]
    np.testing.assert_allclose(t["mean_pre"], [3.5, 4.0])
    np.testing.assert_allclose(t["mean_post"], [4.5, 3.5])
    np.testing.assert_allclose(t["change"], [1.0, -0.5])
    ex = cc.exclusions
    assert list(ex.columns) == survey.EXCLUSION_COLUMNS
    got = [tuple(r) for r in ex[["unit", "clinic_id", "wave", "n_responses"]].itertuples(index=False)]
    assert got == [
        ("clinic", "C", "post", 1),
        ("clinic", "D", "", 2),
        ("clinic", "E", "pre+post", 0),
        ("clinic", "F", "pre", 1),
        ("response", "A", "post", 1),
        ("response", "F", "pre", 1),
    ]
    reasons = dict(zip(ex["clinic_id"] + ex["unit"], ex["reason"]))
    assert reasons["Cclinic"] == "no valid responses in the post wave"
    assert "no group" in reasons["Dclinic"]
    assert reasons["Eclinic"] == "no valid responses in the pre and post waves"
    assert "fewer than 0.5" in reasons["Aresponse"]
    assert not ex.isna().any().any()


def test_clinic_change_no_exclusions_and_bad_groups():
    scored = scored_from({("A", "pre"): [3], ("A", "post"): [4]})
    cc = survey.clinic_change(scored, pd.DataFrame({"clinic_id": ["A"], "group": ["more"]}))
    assert cc.exclusions.empty and list(cc.exclusions.columns) == survey.EXCLUSION_COLUMNS
    with pytest.raises(AnalysisError, match="expected 'more' or 'less'"):
        survey.clinic_change(scored, pd.DataFrame({"clinic_id": ["A"], "group": ["other"]}))
    with pytest.raises(AnalysisError, match="more than once"):
        survey.clinic_change(scored, pd.DataFrame({"clinic_id": ["A", "A"], "group": ["more", "less"]}))


def test_group_change_against_statsmodels():
    table = change_table(CHANGE, GROUPS)
    out = survey.group_change(table, confidence=0.9)
    assert list(out.columns) == survey.GROUP_CHANGE_COLUMNS
    assert out["group"].tolist() == ["less", "more"]
    for _, row in out.iterrows():
        x = CHANGE[GROUPS == row["group"]]
        lo, hi = DescrStatsW(x).tconfint_mean(alpha=0.1)
        assert row["n_clinics"] == x.size
        assert row["mean_change"] == pytest.approx(x.mean(), rel=1e-12)
        assert row["sd_change"] == pytest.approx(np.std(x, ddof=1), rel=1e-12)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((lo, hi), rel=1e-10)


# ----------------------------------------------------------------------------------------------
# Mixed ANOVA and mixed model


def test_mixed_anova_interaction_equals_student_t_squared():
    table = change_table(CHANGE, GROUPS, pre=np.random.default_rng(2).normal(3.8, 0.3, 16))
    a = survey.mixed_anova_interaction(table)
    t = stats.student_t(CHANGE, GROUPS)
    assert a.statistic == pytest.approx(t.statistic**2, rel=1e-9)
    assert a.p_value == pytest.approx(t.p_value, rel=1e-7)
    assert a.df == t.df == 14
    assert (a.ci_low, a.ci_high) == pytest.approx((t.ci_low, t.ci_high), rel=1e-8)
    assert "F(1, 14)" in a.test


def unbalanced_scored(seed=3, clinics=12):
    """Response-level data with clinic and clinic x wave effects and unequal clinic sizes."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(clinics):
        clinic, group = f"C{i:02d}", "more" if i % 2 else "less"
        base = rng.normal(3.5, 0.25)
        for wave in ("pre", "post"):
            shift = rng.normal(0, 0.12) + (0.15 if wave == "post" and group == "more" else 0.0)
            for k in range(int(rng.integers(8, 40))):
                rows.append({"response_id": f"{clinic}-{wave}-{k}", "clinic_id": clinic, "wave": wave,
                             "n_answered": 1, "composite": base + shift + rng.normal(0, 0.5), "included": True})
    scored = pd.DataFrame(rows)[survey.SCORED_COLUMNS]
    groups = pd.Series({f"C{i:02d}": "more" if i % 2 else "less" for i in range(clinics)})
    return scored, survey.clinic_change(scored, groups).table


@pytest.mark.parametrize("structure", ["clinic_x_wave", "random_intercept"])
def test_exact_reml_from_the_cells_equals_statsmodels_mixedlm_on_the_responses(structure):
    """Independent computation: statsmodels MixedLM fitted response by response (unbalanced data)."""
    from statsmodels.regression.mixed_linear_model import MixedLM, VCSpec

    scored, table = unbalanced_scored()
    cells = mixed_model._cells(scored, table)
    ours = mixed_model.reml_fit(cells, structure)
    data = scored.sort_values(["clinic_id", "wave"], kind="mergesort")
    post = data["wave"].eq("post").to_numpy(dtype=float)
    more = data["clinic_id"].map(table.set_index("clinic_id")["group"]).eq("more").to_numpy(dtype=float)
    exog = np.column_stack([np.ones_like(post), post, more, post * more])
    vc = None
    if structure == "clinic_x_wave":
        rows = pd.Series(np.arange(len(data))).groupby(data["clinic_id"].to_numpy(), sort=True).indices
        vc = VCSpec(["cw"], [[["pre", "post"] for _ in rows]],
                    [[np.column_stack([1 - post[idx], post[idx]]) for idx in rows.values()]])
    with warnings.catch_warnings():  # statsmodels' optimisers warn on the way; the best fit is compared
        warnings.simplefilter("ignore")
        fits = [MixedLM(data["composite"].to_numpy(), exog, groups=data["clinic_id"].to_numpy(),
                        exog_re=np.ones((len(data), 1)), exog_vc=vc).fit(reml=True, method=m)
                for m in ("lbfgs", "nm", "powell")]
    ref = max((f for f in fits if f.converged and np.isfinite(f.llf)), key=lambda f: f.llf)
    assert ours.loglik == pytest.approx(ref.llf, abs=1e-5)  # statsmodels' REML log-likelihood, same constants
    np.testing.assert_allclose(ours.beta, ref.fe_params, rtol=1e-5, atol=1e-6)
    assert ours.residual == pytest.approx(ref.scale, rel=1e-4)
    assert ours.g[0, 1] == pytest.approx(float(np.asarray(ref.cov_re)[0, 0]), rel=1e-3, abs=1e-6)


def balanced_scored(change, groups, per=1, seed=0, noise_sd=0.3):
    rng = np.random.default_rng(seed)
    base = rng.normal(3.5, 0.8, len(change))  # large between-clinic spread: REML variance is interior
    data = {}
    for i, (c, g) in enumerate(zip(change, groups)):
        noise = rng.normal(0, noise_sd, per) if per > 1 else np.zeros(1)
        noise2 = rng.normal(0, noise_sd, per) if per > 1 else np.zeros(1)
        noise -= noise.mean()
        noise2 -= noise2.mean()
        data[(f"C{i:02d}", "pre")] = base[i] + noise
        data[(f"C{i:02d}", "post")] = base[i] + c + noise2
    return scored_from(data)


def test_mixedlm_balanced_equals_the_two_stage_student_t():
    """Balanced design, clinic x wave variance inside its range: the REML interaction, its SE and t on
    (clinics - 2) df are those of the Student t-test of clinic-level change."""
    scored = balanced_scored(CHANGE, GROUPS, per=5, seed=4, noise_sd=0.05)
    table = survey.clinic_change(scored, pd.Series(GROUPS, index=[f"C{i:02d}" for i in range(16)])).table
    np.testing.assert_allclose(table["change"], CHANGE, atol=1e-9)
    m = mixed_model.mixedlm_interaction(scored, table, confidence=0.9)
    t = stats.student_t(table["change"], table["group"], confidence=0.9)
    assert m.estimate == pytest.approx(t.estimate, rel=1e-6)
    assert m.df == t.df == 14
    assert m.statistic == pytest.approx(t.statistic, rel=1e-4)
    assert m.p_value == pytest.approx(t.p_value, rel=1e-3)
    assert (m.ci_low, m.ci_high) == pytest.approx((t.ci_low, t.ci_high), rel=1e-4)
    assert "(1 | clinic) + (1 | clinic:wave)" in m.test and "14 df" in m.test and "estimated at 0" not in m.test


REFERENCE = Path(__file__).parent / "reference"


def reference_data(name):
    data = pd.read_csv(REFERENCE / f"survey_{name}.csv", dtype={"clinic_id": str})
    scored = data.assign(n_answered=1, included=True)[survey.SCORED_COLUMNS]
    table = survey.clinic_change(scored, data.groupby("clinic_id")["group"].first()).table
    ref = pd.read_csv(REFERENCE / "mixed_model_reference.csv").query("data_set == @name").set_index("model")
    return scored, table, ref


@pytest.mark.parametrize("name", ["bundled", "synth4", "synth6"])
def test_mixed_models_equal_r_lme4(name):
    """Against R lme4 + lmerTest (tests/reference/mixed_model.R): the clinic x wave model, tested with t
    on clinics - 2 df, and the random-intercept-only row."""
    scored, table, ref = reference_data(name)
    m = mixed_model.mixedlm_interaction(scored, table)
    r = ref.loc["clinic_x_wave"]
    assert m.estimate == pytest.approx(r["estimate"], abs=1e-4)
    assert m.estimate / m.statistic == pytest.approx(r["se"], rel=1e-3)
    assert m.df == r["df_clinics"]
    assert m.p_value == pytest.approx(r["p_t_clinics"], abs=1e-3)
    only = mixed_model.mixedlm_random_intercept_only(scored, table)
    r = ref.loc["random_intercept_only"]
    assert only.estimate == pytest.approx(r["estimate"], abs=1e-4)
    assert only.p_value == pytest.approx(r["p_wald_z"], abs=1e-3)
    assert only.test.startswith("IGNORES CLINIC-LEVEL CHANGE")
    # the random-slope check reported in the test text
    slope = ref.loc["random_slope"]
    assert f"estimate {slope['estimate']:.4f}" in m.test or f"estimate {slope['estimate'] + 1e-4:.4f}" in m.test \
        or f"estimate {slope['estimate'] - 1e-4:.4f}" in m.test


def test_mixedlm_bundled_reference_values():
    """The bundled study (its response-level data as the package derives them) gives the published
    reference: estimate 0.15423, SE 0.06293, t(14) p = 0.0280 (R: Kenward-Roger p = 0.0281)."""
    from integrating import contract, segmentation

    study = contract.load(Path(__file__).parents[1] / "data" / "raw")
    scored = survey.composite_scores(study.survey_responses, study.survey_items)
    table = survey.clinic_change(scored, segmentation.clinic_segments(study.clinics, study.implementation_log)).table
    bundled = pd.read_csv(REFERENCE / "survey_bundled.csv", dtype={"clinic_id": str})
    mine = scored.loc[scored["included"] & scored["clinic_id"].isin(table["clinic_id"])]
    np.testing.assert_array_equal(mine["response_id"], bundled["response_id"])
    np.testing.assert_allclose(mine["composite"], bundled["composite"], rtol=1e-15)
    m = mixed_model.mixedlm_interaction(scored, table)
    assert round(m.estimate, 5) == 0.15423 and round(m.estimate / m.statistic, 5) == 0.06293
    assert (m.df, round(m.p_value, 4)) == (14, 0.0280)


@pytest.mark.parametrize("name", ["bundled", "synth4", "synth6"])
def test_exact_reml_reaches_lme4s_maximum_and_variances(name):
    """The REML log-likelihood (lme4's scale, constants included) and the variance components equal
    R's; on synth4 one general-purpose optimiser alone once stopped at a worse optimum."""
    scored, table, ref = reference_data(name)
    cells = mixed_model._cells(scored, table)
    for structure, model in [("clinic_x_wave", "clinic_x_wave"), ("random_slope", "random_slope"),
                             ("random_intercept", "random_intercept_only")]:
        fit = mixed_model.reml_fit(cells, structure)
        r = ref.loc[model]
        assert fit.loglik == pytest.approx(r["reml_loglik"], abs=1e-4)
        assert fit.residual == pytest.approx(r["var_residual"], rel=1e-4)
        if structure != "random_slope":
            assert fit.g[0, 1] == pytest.approx(r["var_clinic"], rel=1e-3, abs=1e-6)
        if structure == "clinic_x_wave":
            assert fit.g[0, 0] - fit.g[0, 1] == pytest.approx(r["var_clinic_x_wave"], rel=1e-3, abs=1e-6)


def test_boundary_fit_is_reported():
    scored, table, ref = reference_data("synth6")
    assert ref.loc["clinic_x_wave", "singular"]
    assert "clinic x wave variance estimated at 0 (boundary)" in mixed_model.mixedlm_interaction(scored, table).test


def test_forest_data_leaves_out_the_random_intercept_only_row():
    scored, table = full_fixture()
    eff = survey.survey_effects(scored, table)
    assert "mixedlm_random_intercept_only" in set(eff["analysis"])
    assert "mixedlm_random_intercept_only" not in set(survey.forest_data(eff)["analysis"])


# ----------------------------------------------------------------------------------------------
# The effects table, determinism, degenerate inputs


def full_fixture(seed=0, change=CHANGE, groups=GROUPS, per=4):
    scored = balanced_scored(change, groups, per=per, seed=seed)
    seg = pd.DataFrame({"clinic_id": [f"C{i:02d}" for i in range(len(change))], "group": groups})
    return scored, survey.clinic_change(scored, seg).table


def test_survey_effects_table():
    scored, table = full_fixture()
    eff = survey.survey_effects(scored, table, seed=1)
    assert list(eff.columns) == survey.EFFECT_COLUMNS
    assert tuple(eff["analysis"]) == survey.ANALYSES
    assert (eff["n_more"] == 9).all() and (eff["n_less"] == 7).all()
    assert eff["estimate"].notna().all() and eff["test"].str.len().gt(20).all()
    assert eff.loc[eff["analysis"] != "hedges_g", "p_value"].notna().all()
    ci = eff.set_index("analysis")[["ci_low", "ci_high"]]
    for a in ("student_t", "welch_t", "mixed_anova_interaction", "mixedlm_interaction", "hedges_g",
              "mixedlm_random_intercept_only"):
        assert ci.loc[a].notna().all()
    again = survey.survey_effects(scored, table, seed=1)
    pd.testing.assert_frame_equal(eff, again)


def test_analyse_and_published_rounding():
    resp, groups = fixture_study()
    with pytest.raises(AnalysisError, match="group 'more' has 1 clinic"):
        survey.analyse(resp, items_table(), groups)
    scored, table = full_fixture()
    eff = survey.survey_effects(scored, table)
    gc = survey.group_change(table)
    out = survey.published_rounding(eff, gc)
    assert out["mean_change_more"] == pytest.approx(CHANGE[GROUPS == "more"].mean(), abs=0.005)
    assert out["p_student"] == pytest.approx(eff.loc[0, "p_value"], abs=0.005)


def test_published_rounding_rounds_halves_away_from_zero_as_the_claims_check():
    # Python's round() gives 0.07, -0.07 and 0.12 here (binary floats, halves to even).
    effects = pd.DataFrame({"analysis": ["student_t"], "p_value": [0.125]})
    group_change = pd.DataFrame({"group": ["less", "more"], "mean_change": [-0.075, 0.075]})
    out = survey.published_rounding(effects, group_change)
    assert out == {"mean_change_more": 0.08, "mean_change_less": -0.08, "p_student": 0.13}
    # the same rule as the claims check, on halves and on the bundled data's numbers
    for value in (0.075, -0.075, 0.125, 0.0744375161, -0.08263424128, 0.02395940868):
        out = survey.published_rounding(effects.assign(p_value=value), group_change.assign(mean_change=value))
        expected = float(rounding.round_half_away(value, 2))
        assert out == {"mean_change_more": expected, "mean_change_less": expected, "p_student": expected}


@pytest.mark.parametrize(
    "change, groups, message",
    [
        ([0.1, 0.2, 0.3, 0.0], ["more", "more", "more", "less"], "group 'less' has 1 clinic"),
        ([0.1, 0.2, 0.3], ["more", "more", "more"], "all 3 clinic\\(s\\) with survey change are in group 'more'"),
        ([0.1, 0.1, 0.0, 0.0], ["more", "more", "less", "less"], "zero variance"),
        ([0.1, np.nan, 0.0, 0.0], ["more", "more", "less", "less"], "finite"),
        ([0.1, 0.2, 0.0, 0.0], ["more", "x", "less", "less"], "expected 'more' or 'less'"),
    ],
)
def test_degenerate_inputs_raise_clear_errors(change, groups, message):
    table = change_table(change, groups)
    with pytest.raises(AnalysisError, match=message):
        survey.survey_effects(scored_from({}), table)


def test_clinic_without_post_is_listed_not_crashing():
    scored, _ = full_fixture()
    scored = scored.loc[~((scored["clinic_id"] == "C00") & (scored["wave"] == "post"))]
    seg = pd.DataFrame({"clinic_id": [f"C{i:02d}" for i in range(16)], "group": GROUPS})
    cc = survey.clinic_change(scored, seg)
    assert "C00" not in set(cc.table["clinic_id"])
    row = cc.exclusions.loc[cc.exclusions["clinic_id"].eq("C00")].iloc[0]
    assert (row["unit"], row["wave"], row["reason"]) == ("clinic", "post", "no valid responses in the post wave")
    eff = survey.survey_effects(scored, cc.table)
    assert (eff["n_more"] == 8).all()


# ----------------------------------------------------------------------------------------------
# Figure data and plots


def test_figure_data_and_plots():
    scored, table = full_fixture()
    inter = survey.interaction_data(table)
    g = inter.loc[inter["kind"].eq("group") & inter["group"].eq("more") & inter["wave"].eq("post")].iloc[0]
    vals = table.loc[table["group"].eq("more"), "mean_post"]
    lo, hi = DescrStatsW(vals.to_numpy()).tconfint_mean()
    assert g["mean"] == pytest.approx(vals.mean()) and (g["ci_low"], g["ci_high"]) == pytest.approx((lo, hi))
    assert (inter["kind"] == "clinic").sum() == 32

    cbg = survey.change_by_group_data(table)
    assert (cbg["kind"] == "clinic").sum() == 16
    means = cbg.loc[cbg["kind"].eq("mean")].set_index("group")
    assert means.loc["less", "change"] == pytest.approx(CHANGE[GROUPS == "less"].mean())

    perm = survey.permutation_data(table["change"], table["group"])
    assert perm["count"].sum() == 11440 and perm["share"].sum() == pytest.approx(1.0)
    assert perm["p_value"].iloc[0] == stats.permutation_test(table["change"], table["group"]).p_value

    eff = survey.survey_effects(scored, table)
    forest = survey.forest_data(eff)
    assert forest["analysis"].tolist() == [a for a in survey.ANALYSES if a not in survey.PITFALL_ANALYSES]
    assert forest.set_index("analysis").loc["hedges_g", "panel"] == "standardised"
    assert (forest["panel"] == "difference").sum() == 6
    assert forest["has_ci"].sum() == 5

    fig, axes = plt.subplots(1, 3)
    survey.interaction_plot(inter, axes[0])
    survey.change_by_group_plot(cbg, axes[1])
    survey.permutation_plot(perm, axes[2])
    plt.close(fig)
    fig = plt.figure()
    survey.forest_plot(forest, fig)
    plt.close(fig)
