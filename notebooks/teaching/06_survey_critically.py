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
# # Exercise 6 · Read the survey result critically: which test, which unit
#
# | session | time | prerequisites |
# | --- | --- | --- |
# | 2 (second exercise) | about 40 minutes | a t-test and its p-value; exercise 01 (how the groups are formed) |
#
# **After this exercise you can**
# - run four analyses of the same survey comparison and explain why their p-values differ;
# - identify the unit of analysis of a clustered pre/post design and justify it;
# - choose and word the primary result of a small multiple-case study.
#
# ## Reading
#
# Each clinic's patients answered a survey before (pre) and after (post) the improvement work; the
# patients differ between waves. The question is whether the clinics that implemented more improved
# more. The clinics, not the patients, were grouped, so the **clinic** is the unit: each clinic gives
# one change (mean post - mean pre), and the primary test compares the changes of the two groups of
# clinics. Four analyses of
# the same data (docs/methods-survey.md):
#
# - **Student t** on the clinics' changes (equal variances, df = clinics - 2): the paper's test;
# - **Welch t**: the same without assuming equal variances (Satterthwaite df);
# - **exact permutation test**: every relabelling of the clinics into groups of 9 and 7, no normality
#   assumption;
# - **linear mixed model** on the responses, composite ~ wave * group + (1 | clinic): uses every
#   patient, with a random intercept per clinic. It lets clinics differ in level but assumes every
#   clinic moves between waves by its group's amount plus patient noise.
#
# The bundled data are SYNTHETIC (`integrating synth`): invented clinics, documents and patients that
# follow the published design. Run the cells from the top (JupyterLab: *Run > Run All Cells*), answer in
# the cell tagged `answer`, run it, then run the self-check below it: it says RIGHT, NOT YET or "not
# answered yet" for each question and never shows the expected value.

# %% tags=["parameters"]
raw_dir = "data/raw"
implementation_threshold = 0.5
composite_min_answered = 0.5
alpha = 0.05


# %%
from integrating import contract, segmentation, survey, teaching

study = contract.load(teaching.data_folder(raw_dir))
segments = segmentation.clinic_segments(study.clinics, study.implementation_log, months=study.info.months,
                                        threshold=implementation_threshold)
scored = survey.composite_scores(study.survey_responses, study.survey_items, min_answered=composite_min_answered)
change = survey.clinic_change(scored, segments).table
print(f"{int(scored['included'].sum())} valid survey responses; one change per clinic:")
change


# %% [markdown]
# ## Task
#
# Run the four analyses with `tests = teaching.four_tests(scored, change)` (the rows of
# `survey_effects.csv` for these analyses; the column `test` names each one exactly) and read them.
#
# 1. What are the degrees of freedom of the Welch t-test (1 decimal)? Compare them with the Student
#    t-test's (clinics - 2).
# 2. How many survey responses enter the mixed model?
# 3. Which analysis gives the smallest p? Answer with its name in the `analysis` column
#    (`"student_t"`, `"welch_t"`, `"permutation_exact"` or `"mixedlm_interaction"`).
# 4. Do all four give p < `alpha`? `True` or `False`.
# 5. **In writing** (`answer_written`): the estimates are nearly the same, the p-values are not. Why is
#    the mixed model's p so much smaller? Why are clinics, not patients, the unit here? Which result
#    would you report as primary, and how would you word it for a study of 16 clinics?

# %% tags=["answer"]
answer_welch_df = None          # degrees of freedom of the Welch t-test, 1 decimal
answer_n_responses = None       # survey responses in the mixed model (an integer)
answer_smallest_p = None        # "student_t", "welch_t", "permutation_exact" or "mixedlm_interaction"
answer_all_significant = None   # True or False
answer_written = None           # your interpretation: a few sentences, as a string


# %% tags=["self-check"]
teaching.check_survey(study, implementation_threshold=implementation_threshold,
                      composite_min_answered=composite_min_answered, alpha=alpha, welch_df=answer_welch_df,
                      n_responses=answer_n_responses, smallest_p=answer_smallest_p,
                      all_significant=answer_all_significant, written=answer_written);

