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
# # Exercise 1 · Move the segmentation cut-off and predict the survey result
#
# | session | time | prerequisites |
# | --- | --- | --- |
# | 2 (first exercise) | about 30 minutes | Python basics (run a cell, edit a value); exercise 05 or notebook 02 (how clinics are grouped) |
#
# **After this exercise you can**
# - explain how a cut-off turns a continuous implementation share into two groups of cases;
# - predict how moving the cut-off changes the groups and the survey comparison;
# - recognise, and report, a cut-off at which the primary test cannot be computed.
#
# ## Reading
#
# The study split its clinics into those that **implemented more** and those that **implemented
# less** of their planned changes, then compared the patient-survey change of the two groups
# (notebooks 02 and 04; docs/methods-segmentation.md). A clinic's *implementation share* is its
# implemented changes divided by all its changes within the study window; a clinic is in "more"
# when its share is at least the cut-off. The paper does not publish the cut-off, so any value is
# an analyst's choice. The primary test is the two-sided Student t-test of the clinics' change in
# mean composite score (post - pre); it needs at least 2 clinics in each group, and the package
# labels a comparison it cannot compute "not computable" instead of inventing a number.
#
# The bundled data are SYNTHETIC (`integrating synth`): invented clinics, documents and patients that
# follow the published design. Run the cells from the top (JupyterLab: *Run > Run All Cells*), answer in
# the cell tagged `answer`, run it, then run the self-check below it: it says RIGHT, NOT YET or "not
# answered yet" for each question and never shows the expected value.

# %% tags=["parameters"]
raw_dir = "data/raw"
implementation_threshold = 0.5
new_threshold = 0.65
composite_min_answered = 0.5
alpha = 0.05


# %%
from integrating import contract, segmentation, stats, survey, teaching

study = contract.load(teaching.data_folder(raw_dir))
segments = segmentation.clinic_segments(study.clinics, study.implementation_log, months=study.info.months,
                                        threshold=implementation_threshold)
scored = survey.composite_scores(study.survey_responses, study.survey_items, min_answered=composite_min_answered)
change = survey.clinic_change(scored, segments).table
effect = stats.student_t(change["change"], change["group"])
print(f"Cut-off {implementation_threshold:g}: {int(segments['group'].eq('more').sum())} clinics implemented more; "
      f"difference in mean change {effect.estimate:+.3f}, Student t p = {effect.p_value:.3f}")
segmentation.case_order(segments).merge(change[["clinic_id", "change"]], on="clinic_id", how="left")


# %% [markdown]
# ## Task
#
# The table lists every clinic's implementation share, highest first, with its survey change. Raise
# the cut-off from `implementation_threshold` to `new_threshold` (0.65 by default). **Predict before
# you compute**, then check.
#
# 1. How many clinics are in "more" at the new cut-off?
# 2. Can the two-sided Student t-test still be computed at the new cut-off (at least 2 clinics in each
#    group)? `True` or `False`.
# 3. Is the difference in mean change (more - less) still positive? `True` or `False`; if the test
#    cannot be computed, answer `"not computable"`.
# 4. Does the test still give p < `alpha`? `True`, `False` or `"not computable"`.
# 5. **In writing** (`answer_written`, a few sentences): which clinics changed group, were they good
#    or poor survey performers, and what happens to the evidence? Then set `new_threshold = 0.9` in the
#    parameters cell, run everything again, answer again, and add: what should a report say about a
#    cut-off at which the test cannot be computed?
#
# *Tools:* `segmentation.clinic_segments(..., threshold=new_threshold)` regroups the clinics;
# `survey.clinic_change(scored, new_segments).table` and `stats.student_t(change, group)` give the
# test (it raises `AnalysisError` when a group is too small).

# %% tags=["answer"]
answer_n_more = None        # clinics in "more" at new_threshold (an integer)
answer_computable = None    # can the Student t-test be computed at new_threshold? True or False
answer_positive = None      # difference in mean change still positive? True, False or "not computable"
answer_significant = None   # Student t-test still p < alpha? True, False or "not computable"
answer_written = None       # your interpretation: a few sentences, as a string


# %% tags=["self-check"]
teaching.check_threshold(study, new_threshold=new_threshold, composite_min_answered=composite_min_answered,
                         alpha=alpha, n_more=answer_n_more, computable=answer_computable, positive=answer_positive,
                         significant=answer_significant, written=answer_written);

