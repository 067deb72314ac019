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
counts, rates = mechanisms.mechanism_matrix(segments, study.documents, study.coded_segments, codes)
answer_documents = int(counts.set_index("clinic_id").loc[recoded_clinic, code])
before = mechanisms.compare_groups(rates, codes).set_index("code")
answer_verdict_before = before.loc[code, "verdict"]
recoded = teaching.remove_clinic_code(study, study.coded_segments, recoded_clinic, code)
_, rates_after = mechanisms.mechanism_matrix(segments, study.documents, recoded, codes)
after = mechanisms.compare_groups(rates_after, codes).set_index("code")
answer_verdict_after = after.loc[code, "verdict"]
answer_p_after = round(float(after.loc[code, "p_value"]), 3)
answer_written = (
    "Removing the code from one clinic that implemented more turns its rate to zero, at the bottom "
    "of the ranking, so the exact test loses its perfect separation and p rises, but the other eight "
    "clinics still rank above the less group and the verdict holds. The matrix shows which clinics carry the "
    "pattern and that the less group is not empty of the code; the hardest test recodes the more clinic "
    "with the lowest rate or adds the code to the less clinic with the highest."
)
counts


# %% tags=["self-check"]
teaching.check_matrix(study, implementation_threshold=implementation_threshold, code=code,
                      recoded_clinic=recoded_clinic, documents_with_code=answer_documents,
                      verdict_before=answer_verdict_before, verdict_after=answer_verdict_after,
                      p_after=answer_p_after, written=answer_written);


# %% [markdown]
# ## Why
#
# The exact rank test looks only at the order of the rates. With 9 and 7 clinics there are 11,440 ways
# to split 16 clinics into groups of those sizes; a perfect separation (every "more" clinic above every
# "less" clinic) is the most extreme of them, so p is tiny. Moving one clinic to the bottom of the
# ranking leaves eight of nine above all "less" clinics, still a rare split: p rises by an order of
# magnitude but stays below 0.05. A verdict this robust needs several clinics recoded before it moves;
# a verdict at p = 0.04 can fall with one. That is what the case-ordered matrix lets a reader check:
# which cases carry the pattern, and how many would have to be read differently. Notebook 06's
# leave-one-clinic-out analyses do the same for the survey result.
