# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python (integrating)
#     language: python
#     name: integrating
# ---

# %% [markdown]
# # 06 · Robustness: the multiverse of defensible analyses
#
# The survey result of notebook 04 rests on choices the paper does not publish: how the clinics are
# split into "implemented more" and "less", which items make the patient composite and how many of
# them a response must answer, whether one unusual clinic carries the result, and which test compares
# the groups. This notebook computes **every combination** of those choices (a multiverse, or
# specification curve) and asks how many of them tell the same story as the primary analysis.
#
# **The bundled data are SYNTHETIC** (`integrating synth`): invented clinics and patients that follow
# the published design. The notebook runs on any data set that follows the data contract
# (`docs/data-contract.md`). Methods, and the power simulation that complements it:
# `docs/robustness-and-power.md`.

# %% tags=["parameters"]
raw_dir = "data/raw"
derived_dir = "data/derived"
figures_dir = "figures"
provenance_dir = "reports/provenance"
segmentation_rule = "share"
implementation_threshold = 0.5
implemented_count_threshold = 3
threshold_grid = [0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7]
composite_min_answered = 0.5
confidence_level = 0.95
seed = 20170301
multiverse_count_grid = [2, 3, 4]
multiverse_min_answered_grid = [0.5, 0.75, 1.0]
multiverse_max_loo_clinics = 20
multiverse_permutation_max_exact = 100000
multiverse_permutation_draws = 2000

figure_formats = ["svg", "pdf", "png"]
figure_dpi = 600
figure_font_size = 8
figure_width_one_column_mm = 85
figure_width_two_columns_mm = 175
figure_pack_format = "pdf"

# %%
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from integrating import contract, multiverse, plotting, provenance, support

plotting.use_style(**plotting.config_settings(globals()))  # the figure_* parameters
run = provenance.Run.start("06_robustness", globals())
study = contract.load(raw_dir)
run.input(*study.files())
derived, figures = Path(derived_dir), Path(figures_dir)
can = support.Guard(run, study, rule=segmentation_rule, threshold=implementation_threshold,
                    count_threshold=implemented_count_threshold, min_answered=composite_min_answered)
synthetic = "SYNTHETIC " if study.info.synthetic else ""
alpha = 1 - confidence_level
ci_pct = f"{confidence_level * 100:g}%"
print(f"{synthetic}study: {len(study.clinics)} clinics, {len(study.survey_responses)} survey responses")

# %% [markdown]
# ## The choices
#
# | dimension | choices |
# |---|---|
# | segmentation | rule `share` at every cut-off of `threshold_grid`; rule `median`; rule `count` at every cut-off of `multiverse_count_grid` (the configured rule is always included) |
# | composite | all composite items, or each composite item left out in turn |
# | minimum answered share | every value of `multiverse_min_answered_grid` (and `composite_min_answered`) |
# | clinic left out | none, or each clinic in turn (at most `multiverse_max_loo_clinics`, the most influential ones beyond) |
# | test | Student t (primary), Welch t, permutation test, Mann-Whitney U, all two-sided |
#
# Every specification estimates the same quantity, the **difference in mean clinic-level change
# (more − less)**; the test only changes the p-value (and the CI, which the t-tests define). The
# patient-level mixed model is not part of the multiverse, whose tests compare clinic-level change;
# notebook 04 reports it for the primary specification. The **primary specification** (configured
# segmentation, all items, `composite_min_answered`, no clinic left out, Student t) is notebook 04's
# primary result. A specification that cannot be computed (a group with fewer than 2 clinics) stays in
# the table with its reason.

# %%
pd.DataFrame({"test": list(multiverse.TEST_NAMES), "exact test": list(multiverse.TEST_NAMES.values())})

# %%
# %%needs robustness --tables multiverse.csv multiverse_summary.csv
result = multiverse.multiverse(
    study.clinics, study.implementation_log, study.survey_responses, study.survey_items,
    months=study.info.months, rule=segmentation_rule, threshold=implementation_threshold,
    count_threshold=implemented_count_threshold, threshold_grid=threshold_grid,
    count_grid=multiverse_count_grid, min_answered=composite_min_answered,
    min_answered_grid=multiverse_min_answered_grid, max_loo_clinics=multiverse_max_loo_clinics,
    confidence=confidence_level, max_exact=multiverse_permutation_max_exact,
    draws=multiverse_permutation_draws, seed=seed,
)
table = result.table
run.table(table, derived / "multiverse.csv")
run.table(result.summary, derived / "multiverse_summary.csv")
n_paths = len(table) // len(multiverse.TESTS)
print(f"{len(table)} specifications: {len(result.segmentations)} segmentations x {len(result.composites)} composite "
      f"definitions x {len(result.excluded)} exclusions x {len(multiverse.TESTS)} tests, in {result.seconds:.1f} s")
reasons = table.loc[table["reason"].ne(""), "reason"].value_counts().rename("specifications")
print("Every specification can be computed." if reasons.empty else
      f"{int(reasons.sum())} specifications cannot be computed (kept in the table with the reason):")
reasons.to_frame() if len(reasons) else None

# %% [markdown]
# ## The primary specification
#
# It must equal notebook 04's Student t-test (`survey_effects.csv`, row `student_t`); the test suite
# checks that, and that other specifications equal the survey functions run on the changed data.

# %%
# %%needs robustness
primary = multiverse.primary_row(table)
primary[["segmentation", "composite", "min_answered", "excluded_clinic", "test", "estimate", "ci_low", "ci_high",
         "p_value", "n_more", "n_less"]]

# %% [markdown]
# ## Robustness of the headline
#
# What does the primary result rest on? Each row recomputes the primary Student t-test after one change:
# every clinic **one implemented change from the other group** (at the configured cut-off) moved to
# it, the **median rule** instead of the configured one, and each clinic **left out** in turn; the last
# rows summarise the leave-one-out p-values and give the share of all multiverse specifications with
# p < alpha. Everything is computed from the data, so the table answers the question on any data set
# (`headline_robustness.csv`). A result that changes with one clinic's group is a fragile one, however
# small its p-value.

# %%
# %%needs robustness --tables headline_robustness.csv
robustness = multiverse.headline_robustness(
    study.clinics, study.implementation_log, study.survey_responses, study.survey_items, table,
    months=study.info.months, rule=segmentation_rule, threshold=implementation_threshold,
    count_threshold=implemented_count_threshold, min_answered=composite_min_answered, alpha=alpha,
)
run.table(robustness, derived / "headline_robustness.csv")
near = robustness.loc[robustness["check"].eq("near_cutoff")]
loo = robustness.loc[robustness["check"].eq("leave_one_out_summary")].iloc[0]
print(f"{len(near)} clinic(s) one implemented change from the other group; moving one of them gives "
      f"p from {near['p_value'].min():.3f} to {near['p_value'].max():.3f}." if len(near) else
      "No clinic is one implemented change from the other group.")
print(f"Leaving one clinic out: largest p {loo['p_value']:.3f}; {loo['detail']}.")
robustness

# %% [markdown]
# ## The specification curve
#
# Top: the estimate of every analysis path (segmentation x composite x minimum share x exclusion),
# sorted, with its Student t confidence interval, blue where the Student t-test gives p < alpha. Bottom:
# which choices each path made (a dark mark = this choice), and under which tests it reaches
# p < alpha. The dotted line marks the primary specification.

# %%
# %%needs robustness --figures multiverse_curve
curve = multiverse.spec_curve_data(table, test="student_t", alpha=alpha)
fig, _ = plotting.new_figure("two", 5.6, nrows=0)
multiverse.spec_curve_plot(curve, fig, alpha=alpha, ci_label=f"{ci_pct} CI (Student t)")
plotting.finish(fig, study.info.synthetic)
overall = result.summary.iloc[0]
run.figure(fig, figures / "multiverse_curve",
           caption=f"Specification curve of the survey effect: the difference in mean clinic-level change "
                   f"(more - less) of {len(curve)} analysis paths, sorted, with {ci_pct} Student t CIs (blue: "
                   f"p < {alpha:g}); below, the choices of each path and the tests under which it reaches "
                   f"p < {alpha:g}. Over all {int(overall['n_specs'])} specifications (paths x 4 tests), "
                   f"{overall['share_same_sign']:.0%} have the primary estimate's sign and "
                   f"{overall['share_significant']:.0%} have p < {alpha:g}. {synthetic}data. "
                   f"Source: data/derived/multiverse.csv.")
plt.show()

# %% [markdown]
# ## Which choices matter
#
# For every choice: the share of the specifications that use it and agree in sign with the primary
# estimate, and the share with p < alpha. A choice whose shares stand apart is one the result depends on.

# %%
# %%needs robustness
summary = result.summary
print(f"{overall['share_same_sign']:.1%} of {int(overall['n_estimated'])} estimated specifications have the sign "
      f"of the primary estimate ({primary['estimate']:+.3f}); {overall['share_significant']:.1%} of "
      f"{int(overall['n_tested'])} tested specifications have p < {alpha:g}.")
summary

# %%
# %%needs robustness --figures multiverse_choices
data = multiverse.summary_data(summary)
fig, ax = plotting.new_figure("one", 1.0 + 0.13 * len(data))
multiverse.summary_plot(data, ax, alpha=alpha)
plotting.finish(fig, study.info.synthetic)
run.figure(fig, figures / "multiverse_choices",
           caption=f"Per analysis choice: share of its specifications with the sign of the primary estimate "
                   f"(open) and with p < {alpha:g} (filled). {synthetic}data. "
                   f"Source: data/derived/multiverse_summary.csv.")
plt.show()

# %%
run.finish()
