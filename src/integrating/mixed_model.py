"""The patient-level mixed models of the survey effect: clinic and clinic x wave random intercepts, REML.

:func:`mixedlm_interaction` is the mixed model ``survey_effects.csv`` reports: the wave x group
interaction of ``composite ~ wave * group + (1 | clinic) + (1 | clinic:wave)``, tested with t on
(clinics - 2) df. :func:`mixedlm_random_intercept_only` is the model that ignores clinic-level
change, kept only as a labelled pitfall (docs/methods-survey.md).

Every fixed effect (wave, group, their interaction) is constant within a clinic and wave, so the
responses enter the REML likelihood only through each clinic x wave cell's size and mean and the
pooled within-cell sum of squares (:func:`_reml`). The likelihood is computed exactly from those, in
two-by-two matrices per clinic, instead of by a general mixed-model fitter that works response by
response (statsmodels' ``MixedLM`` took a minute at 1,600 clinics and could stop at a worse optimum):
the tests check the fits against R's lme4 and statsmodels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import AnalysisError
from .stats import Effect, confidence_text, split_groups

#: The interaction coefficient: difference in mean change, more - less (reference levels pre, less).
TERM = "wave[post]:group[more]"
#: Fixed effects of every model here, in this order.
FIXED = ("Intercept", "wave[post]", "group[more]", TERM)
#: Covariance of a clinic's pre and post effects: "clinic_x_wave" (1 | clinic) + (1 | clinic:wave),
#: "random_slope" (1 + wave | clinic), "random_intercept" (1 | clinic).
STRUCTURES = ("clinic_x_wave", "random_slope", "random_intercept")


@dataclass(frozen=True)
class Cells:
    """The responses of the clinics in survey_clinic_change.csv, reduced to what the models need: per
    clinic and wave (pre, post) the number of responses and their mean, and the pooled within-cell sum
    of squares. Every fixed effect is constant within a clinic and wave, so these are sufficient."""

    n: np.ndarray  # (clinics, 2) responses
    mean: np.ndarray  # (clinics, 2) mean composite
    ss_within: float  # sum over cells of squared deviations from the cell mean
    more: np.ndarray  # (clinics,) 1.0 for a clinic in "more"
    n_more: int
    n_less: int

    @property
    def responses(self) -> int:
        return int(self.n.sum())

    def design(self) -> np.ndarray:
        """(clinics, 2, 4): the fixed-effects rows (:data:`FIXED`) of each clinic's pre and post cells."""
        ones, more = np.ones_like(self.more), self.more
        pre = np.column_stack([ones, 0 * ones, more, 0 * ones])
        post = np.column_stack([ones, ones, more, more])
        return np.stack([pre, post], axis=1)


def _cells(scored: pd.DataFrame, table: pd.DataFrame) -> Cells:
    x, y = split_groups(table["change"].to_numpy(dtype="float64"), table["group"].to_numpy())
    labels = pd.Series(table["group"].to_numpy(dtype=object), index=table["clinic_id"].to_numpy(dtype=object))
    keep = scored["included"].to_numpy(dtype=bool) & scored["clinic_id"].isin(labels.index).to_numpy()
    data = scored.loc[keep, ["clinic_id", "wave", "composite"]]
    cells = data.groupby(["clinic_id", "wave"])["composite"]
    n = cells.size().unstack().reindex(columns=["pre", "post"])
    if n.isna().any().any():  # the change table holds only clinics with valid responses in both waves
        raise AnalysisError("a clinic of survey_clinic_change.csv has no valid response in one wave; expected both")
    mean = cells.mean().unstack()[["pre", "post"]]
    deviation = data["composite"] - cells.transform("mean")
    more = labels.reindex(n.index).eq("more").to_numpy(dtype="float64")
    return Cells(n.to_numpy(dtype="float64"), mean.to_numpy(dtype="float64"), float((deviation ** 2).sum()), more,
                 x.size, y.size)


@dataclass(frozen=True)
class RemlFit:
    """A REML fit: fixed effects (:data:`FIXED`), their covariance (X' V^-1 X)^-1 at the estimates
    (lme4's ``vcov``), the 2 x 2 covariance of a clinic's pre and post effects, the residual variance and
    the REML log-likelihood on lme4's scale."""

    structure: str
    beta: np.ndarray
    cov_beta: np.ndarray
    g: np.ndarray
    residual: float
    loglik: float

    def coefficient(self) -> tuple[float, float]:
        estimate, se = float(self.beta[-1]), float(np.sqrt(self.cov_beta[-1, -1]))
        if not (np.isfinite(estimate) and np.isfinite(se) and se > 0):
            raise AnalysisError("the mixed model's interaction standard error is undefined (singular fit); "
                                "expected variation of the composite within clinics and waves")
        return estimate, se


def _covariance(structure: str, theta: np.ndarray) -> tuple[np.ndarray, float]:
    if structure == "clinic_x_wave":
        clinic, clinic_wave, residual = theta
        return clinic * np.ones((2, 2)) + clinic_wave * np.eye(2), residual
    if structure == "random_intercept":
        clinic, residual = theta
        return clinic * np.ones((2, 2)), residual
    l11, l21, l22, residual = theta  # (1 + wave | clinic): any covariance of the pre and post effects
    chol = np.array([[l11, 0.0], [l21, l22]])
    return chol @ chol.T, residual


def _reml(structure: str, theta: np.ndarray, cells: Cells, design: np.ndarray) -> tuple[float, dict]:
    """REML log-likelihood of the response-level model, exactly, from the cells.

    Per cell, the mean and the deviations from it are independent: the deviations carry only the
    residual variance, the means follow the clinic-level model with covariance G + residual / n per
    clinic. The log-likelihood and X' V^-1 X of the responses are those of the means plus the
    deviations' share (and constants), so each evaluation costs two-by-two matrices per clinic."""
    g, residual = _covariance(structure, theta)
    if residual <= 0:
        return -np.inf, {}
    a = g[0, 0] + residual / cells.n[:, 0]
    c = g[1, 1] + residual / cells.n[:, 1]
    b = np.full_like(a, g[0, 1])
    det = a * c - b * b
    if not np.all(det > 0):
        return -np.inf, {}
    inv = np.stack([np.stack([c, -b], axis=1), np.stack([-b, a], axis=1)], axis=1) / det[:, None, None]
    xt_vinv = np.einsum("cki,ckl->cil", design, inv)
    info = np.einsum("cil,clj->ij", xt_vinv, design)
    beta = np.linalg.solve(info, np.einsum("cil,cl->i", xt_vinv, cells.mean))
    r = cells.mean - np.einsum("ckj,j->ck", design, beta)
    quad = float(np.einsum("ck,ckl,cl->", r, inv, r))
    sign, logdet_info = np.linalg.slogdet(info)
    if sign <= 0:
        return -np.inf, {}
    n, k = cells.responses, design.shape[2]
    loglik = -0.5 * ((n - k) * np.log(2 * np.pi) + (n - cells.n.size) * np.log(residual) + np.log(det).sum()
                     + np.log(cells.n).sum() + logdet_info + cells.ss_within / residual + quad)
    return float(loglik), {"beta": beta, "info": info, "g": g, "residual": residual}


def _penalised(structure: str, theta: np.ndarray, cells: Cells, design: np.ndarray) -> float:
    """Minus the REML log-likelihood; a large finite value where the covariance is not positive definite
    (finite, so that the optimiser's difference quotients stay numbers)."""
    loglik = _reml(structure, theta, cells, design)[0]
    return -loglik if np.isfinite(loglik) else 1e100


def reml_fit(cells: Cells, structure: str) -> RemlFit:
    """REML fit of ``composite ~ wave * group`` with a clinic's pre and post effects covarying as
    ``structure`` (:data:`STRUCTURES`), maximised by L-BFGS-B (variances bounded at 0) from several
    starting points, the best kept."""
    from scipy.optimize import minimize

    if structure not in STRUCTURES:
        raise ValueError(f"structure {structure!r}: expected one of {', '.join(STRUCTURES)}")
    design = cells.design()
    within = cells.ss_within / max(cells.responses - cells.n.size, 1)
    between = max(float(np.var(cells.mean)), 1e-12)
    scale = max(within, between, 1e-12)
    starts, bounds = {
        "clinic_x_wave": ([[between / 2, between / 2, within], [between, 0.0, within], [0.0, between, within]],
                          [(0, None), (0, None), (1e-12, None)]),
        "random_intercept": ([[between, within], [0.0, within]], [(0, None), (1e-12, None)]),
        "random_slope": ([[np.sqrt(between), 0.0, np.sqrt(between) / 2, within],
                          [np.sqrt(between), np.sqrt(between), 0.0, within]],
                         [(0, None), (None, None), (0, None), (1e-12, None)]),
    }[structure]
    # Variances in units of the larger of the within- and between-cell variances (square roots for the
    # random slope's Cholesky factor), so the optimiser works on numbers near 1.
    unit = np.array([np.sqrt(scale) if structure == "random_slope" and i < 3 else scale for i in range(len(bounds))])
    bounds = [(lo / u if lo is not None else None, hi) for (lo, hi), u in zip(bounds, unit)]
    best = None
    for start in starts:
        result = minimize(lambda z: _penalised(structure, z * unit, cells, design), np.asarray(start) / unit,
                          method="L-BFGS-B", bounds=bounds, options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 2000})
        loglik, parts = _reml(structure, result.x * unit, cells, design)
        if parts and np.isfinite(loglik) and (best is None or loglik > best[0]):
            best = (loglik, parts)
    if best is None:
        raise AnalysisError("the mixed model has no REML maximum from any starting point; expected variation "
                            "of the composite within clinics and waves")
    loglik, parts = best
    return RemlFit(structure, parts["beta"], np.linalg.inv(parts["info"]), parts["g"], parts["residual"], loglik)


def mixedlm_interaction(scored: pd.DataFrame, table: pd.DataFrame, *, confidence: float = 0.95) -> Effect:
    """Patient-level linear mixed model with clinic and clinic x wave random intercepts, REML.

    ``composite ~ wave * group + (1 | clinic) + (1 | clinic:wave)`` on the valid responses of the
    clinics in ``table`` (the same clinics as every other analysis), with reference levels wave = pre
    and group = less, so the interaction coefficient estimates the difference in mean change
    (more - less). The clinic x wave term carries clinic-to-clinic variation in change, the variation
    the group difference must be judged against. The interaction is tested with t on (clinics - 2)
    degrees of freedom (the Kenward-Roger df in balanced designs), with the matching t-based CI and the
    standard error from (X' V^-1 X)^-1 (lme4's ``vcov``). The fit is exact REML computed from the
    clinic x wave cells (:func:`reml_fit`); the ``test`` text also reports the model with a random wave
    slope per clinic instead, as a check.
    """
    from scipy import stats as sps

    cells = _cells(scored, table)
    fit = reml_fit(cells, "clinic_x_wave")
    estimate, se = fit.coefficient()
    var_cw = max(float(fit.g[0, 0] - fit.g[0, 1]), 0.0)
    n_clinics = cells.n_more + cells.n_less
    df = float(n_clinics - 2)
    t = estimate / se
    p = float(2 * sps.t.sf(abs(t), df))
    half = float(sps.t.ppf(0.5 + confidence / 2, df)) * se
    boundary = "; clinic x wave variance estimated at 0 (boundary)" if var_cw <= 1e-8 * fit.residual else ""
    try:
        s_est, s_se = reml_fit(cells, "random_slope").coefficient()
        s_p = float(2 * sps.t.sf(abs(s_est / s_se), df))
        check = f"random wave slope per clinic instead, (1 + wave | clinic): estimate {s_est:.4f}, t({df:g}) p = {s_p:.4f}"
    except AnalysisError as exc:
        check = f"random wave slope per clinic instead: not computable ({exc})"
    return Effect("mixedlm_interaction", estimate, t, df, p, estimate - half, estimate + half, cells.n_more,
                  cells.n_less,
                  f"linear mixed model composite ~ wave * group + (1 | clinic) + (1 | clinic:wave), REML "
                  f"(exact, from the clinic x wave cell means and within-cell sums of squares; L-BFGS-B), "
                  f"{cells.responses} responses; t of the wave x group interaction on {n_clinics} clinics - 2 = "
                  f"{df:g} df, two-sided; {confidence_text(confidence)} t-based CI; SE from (X' V^-1 X)^-1"
                  f"{boundary}; {check}")


def mixedlm_random_intercept_only(scored: pd.DataFrame, table: pd.DataFrame, *, confidence: float = 0.95) -> Effect:
    """``composite ~ wave * group + (1 | clinic)``, REML, Wald z: the model that IGNORES clinic-level change.

    Without a clinic x wave term, clinic-to-clinic variation in change is treated as patient-level
    noise, so the interaction's standard error is too small and its p-value too low. Kept as a
    labelled row to show that pitfall (as the power simulation does), never as an alternative analysis.
    """
    from scipy import stats as sps

    cells = _cells(scored, table)
    estimate, se = reml_fit(cells, "random_intercept").coefficient()
    z = estimate / se
    p = float(2 * sps.norm.sf(abs(z)))
    half = float(sps.norm.ppf(0.5 + confidence / 2)) * se
    return Effect("mixedlm_random_intercept_only", estimate, z, np.nan, p, estimate - half, estimate + half,
                  cells.n_more, cells.n_less,
                  f"IGNORES CLINIC-LEVEL CHANGE, not a valid test of the group difference: linear mixed model "
                  f"composite ~ wave * group + (1 | clinic), REML (exact, from the clinic x wave cell means), "
                  f"{cells.responses} responses; Wald z of the wave x group interaction, two-sided; "
                  f"{confidence_text(confidence)} Wald CI; SE from (X' V^-1 X)^-1")
