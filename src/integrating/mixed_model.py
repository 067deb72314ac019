"""The patient-level mixed models of the survey effect: clinic and clinic x wave random intercepts, REML.

:func:`mixedlm_interaction` is the mixed model ``survey_effects.csv`` reports: the wave x group
interaction of ``composite ~ wave * group + (1 | clinic) + (1 | clinic:wave)``, tested with t on
(clinics - 2) df, fitted by several optimisers and the best REML likelihood kept
(:func:`mixed_fit`). :func:`mixedlm_random_intercept_only` is the model that ignores clinic-level
change, kept only as a labelled pitfall (docs/methods-survey.md).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import AnalysisError
from .stats import Effect, confidence_text, split_groups

#: Optimisers tried for the clinic x wave mixed model, in this order; the fit with the highest REML
#: log-likelihood is kept. Any one of them can stop at a worse optimum (L-BFGS does on a synthetic test
#: study, Powell stops short near a zero variance), so at least two are compared, and the next one is
#: tried whenever those run so far disagree (:data:`MIXEDLM_AGREE`).
MIXEDLM_METHODS = ("lbfgs", "nm", "powell")
#: Two converged fits whose REML log-likelihoods differ by less than this have found the same maximum.
MIXEDLM_AGREE = 1e-3
#: Optimisers of the random-intercept-only model (derivative-free; gradient ones can stop short of the
#: maximum when the random-intercept variance is small).
RANDOM_INTERCEPT_METHODS = ("powell", "nm")
#: The interaction coefficient: difference in mean change, more - less (reference levels pre, less).
TERM = "wave[post]:group[more]"


@dataclass(frozen=True)
class MixedFit:
    result: object  # statsmodels MixedLMResults
    method: str  # optimiser of the kept fit
    warnings: tuple[str, ...]  # first lines of the warnings statsmodels raised for the kept fit
    tried: tuple[str, ...] = ()  # the optimisers run


def mixed_fit(endog, exog: pd.DataFrame, groups, *, exog_re=None, exog_vc=None, reml: bool = True,
              methods: tuple[str, ...] = MIXEDLM_METHODS, agree: float | None = None) -> MixedFit:
    """statsmodels MixedLM (random effects ``exog_re`` per group, a random intercept by default, and the
    variance components ``exog_vc``), fitted with the optimisers of ``methods`` in order; the converged
    fit with the highest log-likelihood is kept (the first one on a tie). With ``agree``, the remaining
    optimisers are skipped once two converged fits have log-likelihoods within ``agree`` of each other
    (they found the same maximum); without it, every optimiser runs."""
    from statsmodels.regression.mixed_linear_model import MixedLM

    model = MixedLM(np.asarray(endog, dtype="float64"), exog, groups=np.asarray(groups), exog_re=exog_re,
                    exog_vc=exog_vc)
    best = None
    tried, llfs = [], []
    for method in methods:
        if agree is not None and len(llfs) >= 2 and min(np.diff(sorted(llfs))) < agree:
            break
        tried.append(method)
        with warnings.catch_warnings(record=True) as caught, np.errstate(all="ignore"):
            warnings.simplefilter("always")
            try:
                result = model.fit(reml=reml, method=method)
            except (np.linalg.LinAlgError, ValueError):
                continue
        if not (result.converged and np.isfinite(result.llf)):
            continue
        llfs.append(float(result.llf))
        if best is None or result.llf > best.result.llf + 1e-9 * abs(best.result.llf):
            messages = tuple(sorted({str(w.message).strip().splitlines()[0] for w in caught}))
            best = MixedFit(result, method, messages)
    if best is None:
        raise AnalysisError(f"the mixed model did not converge with any of the optimisers {', '.join(methods)}")
    return MixedFit(best.result, best.method, best.warnings, tuple(tried))


def random_intercept_fit(endog, exog: pd.DataFrame, groups, *, reml: bool = True,
                         methods: tuple[str, ...] = RANDOM_INTERCEPT_METHODS) -> MixedFit:
    """:func:`mixed_fit` with one random intercept per group and nothing else."""
    return mixed_fit(endog, exog, groups, reml=reml, methods=methods)


@dataclass(frozen=True)
class MixedData:
    """Response-level data of the clinics in survey_clinic_change.csv, with the fixed-effects design."""

    endog: np.ndarray
    exog: pd.DataFrame
    clinics: np.ndarray
    post: np.ndarray
    n_more: int
    n_less: int


def _mixed_data(scored: pd.DataFrame, table: pd.DataFrame) -> MixedData:
    x, y = split_groups(table["change"].to_numpy(dtype="float64"), table["group"].to_numpy())
    labels = pd.Series(table["group"].to_numpy(dtype=object), index=table["clinic_id"].to_numpy(dtype=object))
    keep = scored["included"].to_numpy(dtype=bool) & scored["clinic_id"].isin(labels.index).to_numpy()
    data = scored.loc[keep]
    post = data["wave"].eq("post").to_numpy(dtype="float64")
    more = data["clinic_id"].map(labels).eq("more").to_numpy(dtype="float64")
    exog = pd.DataFrame({"Intercept": np.ones_like(post), "wave[post]": post, "group[more]": more, TERM: post * more})
    return MixedData(data["composite"].to_numpy(dtype="float64"), exog, data["clinic_id"].to_numpy(dtype=object),
                     post, x.size, y.size)


def _coefficient(fit: MixedFit) -> tuple[float, float]:
    result = fit.result
    with np.errstate(all="ignore"):
        estimate, se = float(result.fe_params[TERM]), float(result.bse_fe[TERM])
    if not (np.isfinite(estimate) and np.isfinite(se) and se > 0):
        raise AnalysisError("the mixed model's interaction standard error is undefined (singular fit); "
                            "expected variation of the composite within clinics and waves")
    return estimate, se


def _fit_note(fit: MixedFit) -> str:
    note = f"optimiser {fit.method} (highest REML log-likelihood of {', '.join(fit.tried)})"
    if fit.warnings:
        note += "; statsmodels warned: " + " | ".join(fit.warnings)
    return note


def clinic_wave_fit(scored: pd.DataFrame, table: pd.DataFrame, *, slope: bool = False,
                    methods: tuple[str, ...] = MIXEDLM_METHODS) -> tuple[MixedFit, MixedData]:
    """REML fit of ``composite ~ wave * group`` with clinic-level change as a random effect.

    ``slope=False``: random intercepts for clinic and for clinic x wave (a variance component for wave
    within clinic; lme4: ``(1 | clinic) + (1 | clinic:wave)``). ``slope=True``: a random intercept and
    wave slope per clinic with their correlation (lme4: ``(1 + wave | clinic)``), a larger model.
    """
    d = _mixed_data(scored, table)
    if slope:
        exog_re = np.column_stack([np.ones_like(d.post), d.post])
        fit = mixed_fit(d.endog, d.exog, d.clinics, exog_re=exog_re, methods=methods, agree=MIXEDLM_AGREE)
    else:
        from statsmodels.regression.mixed_linear_model import VCSpec

        # A random intercept per clinic, and a variance component with one column per wave: the rows
        # of a clinic in a wave share that clinic x wave intercept. MixedLM orders groups by label
        # and keeps each group's rows in data order, as groupby(sort=True).indices does.
        rows = pd.Series(np.arange(d.clinics.size)).groupby(d.clinics, sort=True).indices
        labels = sorted(rows)
        vc = VCSpec(["clinic x wave"], [[["pre", "post"] for _ in labels]],
                    [[np.column_stack([1.0 - d.post[rows[c]], d.post[rows[c]]]) for c in labels]])
        fit = mixed_fit(d.endog, d.exog, d.clinics, exog_re=np.ones((d.endog.size, 1)), exog_vc=vc,
                        methods=methods, agree=MIXEDLM_AGREE)
    return fit, d


def _interaction_se(d: MixedData, var_clinic: float, var_clinic_wave: float, var_residual: float) -> float:
    """Standard error of the interaction from the fixed effects' covariance (X' V^-1 X)^-1 at the REML
    variance estimates, V per clinic = residual I + clinic 11' + clinic x wave (same wave) (lme4's
    ``vcov``; statsmodels' own SE inverts the observed Hessian of every parameter instead)."""
    x = d.exog.to_numpy(dtype="float64")
    info = np.zeros((x.shape[1], x.shape[1]))
    for idx in pd.Series(np.arange(d.clinics.size)).groupby(d.clinics, sort=True).indices.values():
        post = d.post[idx]
        v = var_residual * np.eye(idx.size) + var_clinic + var_clinic_wave * (post[:, None] == post[None, :])
        xi = x[idx]
        info += xi.T @ np.linalg.solve(v, xi)
    se = float(np.sqrt(np.linalg.inv(info)[-1, -1]))
    if not (np.isfinite(se) and se > 0):
        raise AnalysisError("the mixed model's interaction standard error is undefined (singular fit); "
                            "expected variation of the composite within clinics and waves")
    return se


def mixedlm_interaction(scored: pd.DataFrame, table: pd.DataFrame, *, confidence: float = 0.95) -> Effect:
    """Patient-level linear mixed model with clinic and clinic x wave random intercepts, REML.

    ``composite ~ wave * group + (1 | clinic) + (1 | clinic:wave)`` on the valid responses of the
    clinics in ``table`` (the same clinics as every other analysis), with reference levels wave = pre
    and group = less, so the interaction coefficient estimates the difference in mean change
    (more - less). The clinic x wave term carries clinic-to-clinic variation in change, the variation
    the group difference must be judged against. The interaction is tested with t on (clinics - 2)
    degrees of freedom (the Kenward-Roger df in balanced designs), with the matching t-based CI. The
    fit is the best of several optimisers (:data:`MIXEDLM_METHODS`); the ``test`` text also reports the
    model with a random wave slope per clinic instead, as a check.
    """
    from scipy import stats as sps

    fit, d = clinic_wave_fit(scored, table)
    estimate, _ = _coefficient(fit)
    var_cw = max(float(np.asarray(fit.result.vcomp)[0]), 0.0)
    se = _interaction_se(d, float(np.asarray(fit.result.cov_re)[0, 0]), var_cw, float(fit.result.scale))
    n_clinics = d.n_more + d.n_less
    df = float(n_clinics - 2)
    t = estimate / se
    p = float(2 * sps.t.sf(abs(t), df))
    half = float(sps.t.ppf(0.5 + confidence / 2, df)) * se
    boundary = "; clinic x wave variance estimated at 0 (boundary)" if var_cw <= 1e-8 * float(fit.result.scale) else ""
    try:
        slope_fit, _ = clinic_wave_fit(scored, table, slope=True)
        s_est, s_se = _coefficient(slope_fit)
        s_p = float(2 * sps.t.sf(abs(s_est / s_se), df))
        check = f"random wave slope per clinic instead, (1 + wave | clinic): estimate {s_est:.4f}, t({df:g}) p = {s_p:.4f}"
    except AnalysisError as exc:
        check = f"random wave slope per clinic instead: not computable ({exc})"
    return Effect("mixedlm_interaction", estimate, t, df, p, estimate - half, estimate + half, d.n_more, d.n_less,
                  f"linear mixed model composite ~ wave * group + (1 | clinic) + (1 | clinic:wave), REML "
                  f"(statsmodels MixedLM, variance component for wave within clinic), {d.endog.size} responses; "
                  f"t of the wave x group interaction on {n_clinics} clinics - 2 = {df:g} df, two-sided; "
                  f"{confidence_text(confidence)} t-based CI; {_fit_note(fit)}{boundary}; {check}")


def mixedlm_random_intercept_only(scored: pd.DataFrame, table: pd.DataFrame, *, confidence: float = 0.95) -> Effect:
    """``composite ~ wave * group + (1 | clinic)``, REML, Wald z: the model that IGNORES clinic-level change.

    Without a clinic x wave term, clinic-to-clinic variation in change is treated as patient-level
    noise, so the interaction's standard error is too small and its p-value too low. Kept as a
    labelled row to show that pitfall (as the power simulation does), never as an alternative analysis.
    """
    d = _mixed_data(scored, table)
    fit = random_intercept_fit(d.endog, d.exog, d.clinics)
    estimate, _ = _coefficient(fit)
    result = fit.result
    with np.errstate(all="ignore"):
        z, p = float(result.tvalues[TERM]), float(result.pvalues[TERM])
        lo, hi = (float(v) for v in result.conf_int(alpha=1 - confidence).loc[TERM])
    return Effect("mixedlm_random_intercept_only", estimate, z, np.nan, p, lo, hi, d.n_more, d.n_less,
                  f"IGNORES CLINIC-LEVEL CHANGE, not a valid test of the group difference: linear mixed model "
                  f"composite ~ wave * group + (1 | clinic), REML (statsmodels MixedLM), {d.endog.size} responses; "
                  f"Wald z of the wave x group interaction, two-sided; {confidence_text(confidence)} Wald CI; "
                  f"{_fit_note(fit)}")
