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
# # Exercise 5 · From coded segments to the case-ordered matrix and its verdict
#
# | session | time | prerequisites |
# | --- | --- | --- |
# | 1 (second exercise) | about 35 minutes | exercise 04 (what a coded segment is); pandas basics |
#
# **After this exercise you can**
# - build a case-ordered meta-matrix (cases x codes) from coded segments;
# - read a cross-case verdict off the matrix and the exact test behind it;
# - test how much one case's coding can move a cross-case conclusion.
#
# ## Reading
#
# Cross-case analysis in the tradition of Miles and Huberman puts the cases in the rows of a
# **meta-matrix**, ordered by the outcome (here: implementation share, highest first, so the clinics
# that implemented more come first), and the codes in the columns. A cell counts the documents of
# the clinic in which the code appears (a document counts once however many passages carry the code);
# divided by the clinic's documents and multiplied by 10 it becomes a rate that clinics with more
# documents cannot inflate. The cross-case **verdict** compares the rates of the two groups: exact
# two-sided Wilcoxon-Mann-Whitney test, strongly distinguishing when p < 0.05 in the expected
# direction, weakly when p < 0.10 or Hedges g >= 0.8, otherwise not distinguishing
# (docs/methods-segmentation.md). A matrix makes every case visible: a verdict resting on one or two
# clinics shows.
#
# The bundled data are SYNTHETIC (`integrating synth`): invented clinics, documents and patients that
# follow the published design. Run the cells from the top (JupyterLab: *Run > Run All Cells*), answer in
# the cell tagged `answer`, run it, then run the self-check below it: it says RIGHT, NOT YET or "not
# answered yet" for each question and never shows the expected value.

# %% tags=["parameters"]
raw_dir = "data/raw"
implementation_threshold = 0.5
code = "engaging_groups"
recoded_clinic = "C02"


# %%
from integrating import contract, mechanisms, segmentation, teaching

study = contract.load(teaching.data_folder(raw_dir))
segments = segmentation.clinic_segments(study.clinics, study.implementation_log, months=study.info.months,
                                        threshold=implementation_threshold)
codes = study.mechanism_codes
mechanism_segments = study.coded_segments[study.coded_segments["code"].isin(codes)]
print(f"{len(mechanism_segments)} mechanism-coded segments in {mechanism_segments['document_id'].nunique()} "
      f"documents of {study.documents['clinic_id'].nunique()} clinics")
mechanism_segments.merge(study.documents[["document_id", "clinic_id", "source_type"]], on="document_id").head(8)


# %% [markdown]
# ## Task
#
# 1. Build the meta-matrix with `counts, rates = mechanisms.mechanism_matrix(segments, study.documents,
#    study.coded_segments, codes)` and look at it: rows in case order, the group boundary, the zeros.
#    In how many documents of `recoded_clinic` does `code` appear?
# 2. What is the cross-case verdict of `code` (`mechanisms.compare_groups(rates, codes)`)?
# 3. A second reader re-reads `recoded_clinic` and finds that none of its `code` passages meets the
#    definition: remove them with `teaching.remove_clinic_code(study, study.coded_segments,
#    recoded_clinic, code)`, rebuild the matrix and compare again. What is the verdict now?
# 4. What is the two-sided p of `code` after the recoding (3 decimals)?
# 5. **In writing** (`answer_written`): why did one clinic move (or not move) the verdict? What does
#    the matrix show that the p-value does not? Which clinic would you recode to test the claim
#    hardest, and why? (Try it: change `recoded_clinic` and run again.)

# %% tags=["answer"]
answer_documents = None        # documents of recoded_clinic in which code appears (an integer)
answer_verdict_before = None   # "strongly distinguishing", "weakly distinguishing" or "not distinguishing"
answer_verdict_after = None    # the same after recoding recoded_clinic
answer_p_after = None          # two-sided p of code after the recoding, 3 decimals
answer_written = None          # your interpretation: a few sentences, as a string


# %% tags=["self-check"]
teaching.check_matrix(study, implementation_threshold=implementation_threshold, code=code,
                      recoded_clinic=recoded_clinic, documents_with_code=answer_documents,
                      verdict_before=answer_verdict_before, verdict_after=answer_verdict_after,
                      p_after=answer_p_after, written=answer_written);

