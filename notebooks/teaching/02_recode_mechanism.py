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
# # Exercise 2 · Recode a mechanism and watch the distinguishing table
#
# | session | time | prerequisites |
# | --- | --- | --- |
# | 1 (third exercise) | about 25 minutes | pandas basics (select rows, assign a column); exercise 05 (the case-ordered matrix) |
#
# **After this exercise you can**
# - change a coding decision in the data (merge two codes) without touching anything else;
# - predict how a codebook decision propagates to the cross-case comparison;
# - argue what a coarser codebook can and cannot support.
#
# ## Reading
#
# Notebook 02 compares how often each integrating mechanism was coded in the clinics that implemented
# more and less. For each clinic and code it counts the **documents** in which the code appears (per
# 10 documents), then tests the two groups with an exact Wilcoxon-Mann-Whitney test; a mechanism is
# *strongly distinguishing* when p < 0.05 and it is more frequent in "more", *weakly
# distinguishing* when it is more frequent there and p < 0.10 or Hedges g >= 0.8. Codes are
# judgements: suppose a second reading decides that **negotiating** cannot be told apart from
# **sensemaking** and merges the two codes.
#
# The bundled data are SYNTHETIC (`integrating synth`): invented clinics, documents and patients that
# follow the published design. Run the cells from the top (JupyterLab: *Run > Run All Cells*), answer in
# the cell tagged `answer`, run it, then run the self-check below it: it says RIGHT, NOT YET or "not
# answered yet" for each question and never shows the expected value.

# %% tags=["parameters"]
raw_dir = "data/raw"
implementation_threshold = 0.5
merged_code = "negotiating"
into_code = "sensemaking"


# %%
from integrating import contract, segmentation, teaching

study = contract.load(teaching.data_folder(raw_dir))
segments = segmentation.clinic_segments(study.clinics, study.implementation_log, months=study.info.months,
                                        threshold=implementation_threshold)
codes = study.mechanism_codes
teaching.distinguishing_table(study, segments, study.coded_segments, codes)


# %% [markdown]
# ## Task
#
# 1. Build `recoded_segments`: a copy of `study.coded_segments` in which every segment coded
#    `merged_code` is coded `into_code` instead (all other columns and rows unchanged).
# 2. Predict the verdict of `into_code` after the merge: `"strongly distinguishing"`,
#    `"weakly distinguishing"` or `"not distinguishing"`. Then check it with
#    `teaching.distinguishing_table(study, segments, recoded_segments, [c for c in codes if c != merged_code])`.
# 3. **In writing** (`answer_written`): what can the merged codebook still support, and what claim of
#    the paper could it no longer make?
#
# *Hint:* a document coded with both codes counts once for the merged code. Can merging two codes
# that are both more frequent in "more" clinics make the merged code *less* distinguishing?

# %% tags=["answer"]
recoded_segments = None   # study.coded_segments with merged_code recoded as into_code
answer_verdict = None     # "strongly distinguishing", "weakly distinguishing" or "not distinguishing"
answer_written = None     # your interpretation: a few sentences, as a string


# %% tags=["self-check"]
teaching.check_recoding(study, implementation_threshold=implementation_threshold, merged_code=merged_code,
                        into_code=into_code, recoded_segments=recoded_segments, verdict=answer_verdict,
                        written=answer_written);

