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
# # 04 · Patient-survey effect: integrating clinics versus the others
#
# The paper links integrating to performance through patient surveys fielded before and after the
# implementation period: the mean rating of the clinics that implemented more (the integrating
# clinics) rose, that of the other clinics fell, and the difference was significant. The paper does
# not name its test. This notebook names a primary test, the **two-sided two-sample Student t-test
# (equal variances) of clinic-level change**, and shows how robust the result is to every reasonable
# alternative: Welch's t, an exact permutation test, an exact Mann-Whitney test, a mixed ANOVA on the
# clinic x wave means, a patient-level linear mixed model with clinic and clinic x wave random
# intercepts, and a standardised effect size.
#
# **The bundled data are SYNTHETIC** (`integrating synth`): invented patients and answers that follow
# the published design. The same notebook runs on any data set that follows the data contract
# (`docs/data-contract.md`). Methods and decisions: `docs/methods-survey.md`.

# %% tags=["parameters"]
raw_dir = "data/raw"
derived_dir = "data/derived"
figures_dir = "figures"
provenance_dir = "reports/provenance"
segmentation_rule = "share"
implementation_threshold = 0.5
implemented_count_threshold = 3
composite_min_answered = 0.5
confidence_level = 0.95
permutation_max_exact = 1000000
permutation_draws = 100000
seed = 20170301

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

from integrating import contract, plotting, provenance, segmentation, support, survey

plotting.use_style(**plotting.config_settings(globals()))  # the figure_* parameters
run = provenance.Run.start("04_survey_effect", globals())
study = contract.load(raw_dir)
run.input(*study.files())
derived, figures = Path(derived_dir), Path(figures_dir)
can = support.Guard(run, study, rule=segmentation_rule, threshold=implementation_threshold,
                    count_threshold=implemented_count_threshold, min_answered=composite_min_answered)
synthetic = "SYNTHETIC " if study.info.synthetic else ""
ci_pct = f"{confidence_level * 100:g}%"
permutation = dict(max_exact=permutation_max_exact, draws=permutation_draws, seed=seed)
print(f"{synthetic}study: {len(study.survey_responses)} survey responses from {len(study.clinics)} clinics")

# %% [markdown]
# ## Composite scores and clinic-level change
#
# A response's **composite score** is the mean of its composite items (`in_composite`), after turning
# reversed items round (v -> scale_min + scale_max - v), when at least `composite_min_answered` of
# those items are answered; otherwise the response is excluded. A clinic's **wave mean** is the mean
# composite of its valid responses in that wave, and its **change** is post minus pre. A clinic
# without valid responses in both waves, or without a group, is excluded. Every exclusion is listed,
# with its reason, in `survey_exclusions.csv`.

# %%
# %%needs survey_comparison --tables survey_clinic_change.csv survey_exclusions.csv
scored = survey.composite_scores(study.survey_responses, study.survey_items, min_answered=composite_min_answered)
# The groups of notebook 02 (clinic_segments.csv), by the same rule: this notebook does not wait for 02.
segments = segmentation.clinic_segments(
    study.clinics, study.implementation_log, months=study.info.months, rule=segmentation_rule,
    threshold=implementation_threshold, count_threshold=implemented_count_threshold,
)
change = survey.clinic_change(scored, segments, min_answered=composite_min_answered)
run.table(change.table, derived / "survey_clinic_change.csv", sort_by="clinic_id")
run.table(change.exclusions, derived / "survey_exclusions.csv", sort_by=["unit", "clinic_id", "wave"])
n_excluded = int((~scored["included"]).sum())
print(f"{int(scored['included'].sum())} responses enter the composite; {n_excluded} excluded "
      f"(fewer than {composite_min_answered:g} of the composite items answered); "
      f"{len(change.table)} clinics with valid responses in both waves")
change.exclusions.loc[change.exclusions["unit"].eq("clinic")]

# %%
# %%needs survey_comparison --tables survey_group_change.csv
group_change = survey.group_change(change.table, confidence=confidence_level)
run.table(group_change, derived / "survey_group_change.csv", sort_by="group")
group_change

# %% [markdown]
# ## The primary test and its alternatives
#
# Every analysis compares the same clinics (those listed in `survey_clinic_change.csv`). The
# `test` column names each test exactly. The t-tests are called with an explicit variance
# assumption (Student: equal variances; Welch: unequal), never a default that switches with the
# group sizes. Cells a test does not define (a CI for the permutation test, a p-value for Hedges g)
# are left empty.
#
# The patient-level **mixed model** has random intercepts for clinic and for clinic x wave, so that
# clinic-to-clinic variation in change, the variation the group difference is judged against, is
# part of the model; its interaction is tested with t on (clinics - 2) degrees of freedom. The last
# row, `mixedlm_random_intercept_only`, is the same model **without** the clinic x wave term: it
# treats clinic-level change as patient-level noise, so its standard error is too small and its
# p-value too low. It is shown only to illustrate that pitfall, not as an alternative analysis, and
# is left out of the forest plot.

# %%
# %%needs survey_comparison --tables survey_effects.csv
effects = survey.survey_effects(scored, change.table, confidence=confidence_level, **permutation)
run.table(effects, derived / "survey_effects.csv")
effects

# %%
# %%needs survey_comparison
published = survey.published_rounding(effects, group_change)
print("Rounded as the paper reports them (2 decimals):")
print(f"  mean change, implemented more: {published['mean_change_more']:+.2f}")
print(f"  mean change, implemented less: {published['mean_change_less']:+.2f}")
print(f"  Student t-test, two-sided:     p = {published['p_student']:.2f}")

# %% [markdown]
# ## Figures
#
# **Pre/post interaction.** Each faint line is one clinic's mean composite before and after; the
# bold lines are the group means of the clinic means with their t-based confidence intervals.

# %%
# %%needs survey_comparison --figures survey_interaction
fig, ax = plotting.new_figure("one", 2.8)
survey.interaction_plot(survey.interaction_data(change.table, confidence=confidence_level), ax)
plotting.finish(fig, study.info.synthetic)
run.figure(fig, figures / "survey_interaction",
           caption=f"Mean patient composite score before and after implementation: group means of the "
                   f"clinic means with {ci_pct} t-based CIs (bold) and each clinic (faint). "
                   f"{synthetic}data. Source: data/derived/survey_clinic_change.csv.")
plt.show()

# %% [markdown]
# **Clinic-level change by group**: the figure the result is read from. Each point is a clinic;
# the diamond and bar are the group mean change and its confidence interval.

# %%
# %%needs survey_comparison --figures survey_change_by_group
student = effects.set_index("analysis").loc["student_t"]
fig, ax = plotting.new_figure("one", 2.8)
survey.change_by_group_plot(survey.change_by_group_data(change.table, confidence=confidence_level), ax)
plotting.finish(fig, study.info.synthetic)
run.figure(fig, figures / "survey_change_by_group",
           caption=f"Change in each clinic's mean composite (post - pre) by group, with the group mean and "
                   f"its {ci_pct} t-based CI. Difference {student['estimate']:+.3f}, two-sided Student "
                   f"t-test p = {student['p_value']:.3f}. {synthetic}data. "
                   f"Source: data/derived/survey_clinic_change.csv.")
plt.show()

# %% [markdown]
# **Permutation distribution.** The difference in mean change under every relabeling of the clinics
# with the observed group sizes (or random relabelings beyond `permutation_max_exact`); the observed
# difference is marked, and the darker bars lie beyond it in absolute value.

# %%
# %%needs survey_comparison --figures survey_permutation
perm = survey.permutation_data(change.table["change"], change.table["group"], **permutation)
fig, ax = plotting.new_figure("one", 2.4)
survey.permutation_plot(perm, ax)
plotting.finish(fig, study.info.synthetic)
perm_test = effects.set_index("analysis").loc["permutation_exact", "test"]
run.figure(fig, figures / "survey_permutation",
           caption=f"Permutation distribution of the difference in mean change (more - less); "
                   f"{perm_test}. {synthetic}data. Source: data/derived/survey_clinic_change.csv.")
plt.show()

# %% [markdown]
# **Robustness at a glance.** Estimates and confidence intervals of every analysis (except the
# random-intercept-only row, a pitfall shown in the table only); the change-scale estimates share the left axis, Hedges g (standardised) has its own. Open circles are
# tests without a confidence interval.

# %%
# %%needs survey_comparison --figures survey_forest
fig, _ = plotting.new_figure("two", 2.8, nrows=0)
survey.forest_plot(survey.forest_data(effects), fig)
plotting.finish(fig, study.info.synthetic)
run.figure(fig, figures / "survey_forest",
           caption=f"Estimate and {ci_pct} CI of every analysis of the survey effect (the mixed model with "
                   f"clinic and clinic x wave random intercepts; not the random-intercept-only model, which "
                   f"ignores clinic-level change); the test of each row "
                   f"is named in data/derived/survey_effects.csv. {synthetic}data.")
plt.show()

# %%
run.finish()
