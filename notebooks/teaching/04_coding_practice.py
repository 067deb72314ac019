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
# # Exercise 4 · Code excerpts with the codebook and compare coders
#
# | session | time | prerequisites |
# | --- | --- | --- |
# | 1 (first exercise) | about 40 minutes | none beyond running a cell; read the codebook's four mechanism definitions first |
#
# **After this exercise you can**
# - apply a codebook's definitions to passages of field notes, minutes and interviews;
# - compare two codings unit by unit and name where and why they differ;
# - explain why a report gives Cohen's kappa, not only percent agreement.
#
# ## Reading
#
# Qualitative coding applies a **codebook** (a code, its label and a definition) to passages of the
# study's documents. The study's four integrating mechanisms are engaging groups, bridging
# communication, sensemaking and negotiating. A reliability check has a second coder code a subset of
# the documents independently; their codings are then compared on units. Here a unit is one excerpt x
# one mechanism code: applied or not. **Percent agreement** counts the units on which two coders agree.
# Because most passages carry no mechanism at all, two coders agree on many units by chance;
# **Cohen's kappa** corrects for that: kappa = (p_o - p_e) / (1 - p_e), with p_o the observed and p_e
# the chance agreement from each coder's own rates (1 = perfect, 0 = chance level).
# **Krippendorff's alpha** is a related coefficient that also works with more coders and missing
# codings. Notebook 01 reports all three for the study's double-coded documents
# (`integrating.reliability`); this exercise uses the same code.
#
# The bundled data are SYNTHETIC (`integrating synth`): invented clinics, documents and patients that
# follow the published design. Run the cells from the top (JupyterLab: *Run > Run All Cells*), answer in
# the cell tagged `answer`, run it, then run the self-check below it: it says RIGHT, NOT YET or "not
# answered yet" for each question and never shows the expected value.

# %% tags=["parameters"]
raw_dir = "data/raw"
n_excerpts = 6
excerpt_seed = 2014


# %%
import pandas as pd

from integrating import contract, teaching

study = contract.load(teaching.data_folder(raw_dir))
excerpts = teaching.coding_excerpts(study, n_excerpts, excerpt_seed)
with pd.option_context("display.max_colwidth", None):
    display(teaching.mechanism_codebook(study))
for row in excerpts.itertuples():
    print(f"{row.excerpt_id} ({row.source_type.replace('_', ' ')}, {row.document_id}): {row.text}\n")


# %% [markdown]
# ## Task
#
# 1. **Alone**, read each excerpt and decide which mechanism codes apply: none, one or several. Use
#    the definitions, not your impression of the clinic. Write your coding into `my_coding`, e.g.
#    `{"E1": ["sensemaking"], "E2": [], ...}` with every excerpt present.
# 2. **With a partner**: type their coding into `partner_coding` in the same form (working alone, leave
#    it `None`: the study's second coder stands in). Run the self-check: it compares your coding with
#    the reference (the study's primary coder) and with your partner's, with percent agreement,
#    Cohen's kappa and Krippendorff's alpha computed by `integrating.reliability`, and lists every
#    excerpt and code on which the codings differ.
# 3. A lazy coder applies **no code** to any excerpt. What is their percent agreement with the
#    reference (0-100, one decimal is enough)?
# 4. What is that coder's Cohen's kappa?
# 5. **In writing** (`answer_written`): pick one disagreement from the list and argue, from the codebook
#    definitions, which coding fits the passage. Then say why a report of reliability gives kappa and
#    not only percent agreement.
#
# *Tools:* `teaching.compare_codings(study, excerpts, {"name": coding, ...})` compares any codings
# (its `agreement` and `disagreements` tables); `teaching.reference_codings(study, excerpts)` gives the
# study's two coders' codings: look at them only after you have coded.

# %% tags=["answer"]
my_coding = None                # {"E1": ["sensemaking"], "E2": [], ...}: the mechanism codes of each excerpt
partner_coding = None           # your partner's coding in the same form (None: the study's second coder)
answer_empty_agreement = None   # percent agreement (0-100) of a coder who applies no code, with the reference
answer_empty_kappa = None       # Cohen's kappa of that coder
answer_written = None           # your interpretation: a few sentences, as a string


# %% tags=["self-check"]
teaching.check_coding(study, excerpts, my_coding=my_coding, partner_coding=partner_coding,
                      empty_agreement=answer_empty_agreement, empty_kappa=answer_empty_kappa,
                      written=answer_written);

