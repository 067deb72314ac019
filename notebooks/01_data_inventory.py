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
# # 01 · Data inventory and coding reliability
#
# The methods table of the case study: for each clinic, how many field notes, meeting minutes and
# interviews were collected, how many passages were coded and how many patients answered the survey
# before and after. Then the agreement of two coders on the double-coded subset of documents.
#
# **The bundled data are SYNTHETIC** (`integrating synth`): invented clinics and texts that follow the
# published design. Run the same notebook on real data that follow the data contract
# (`docs/data-contract.md`).

# %% tags=["parameters"]
raw_dir = "data/raw"
derived_dir = "data/derived"
figures_dir = "figures"
provenance_dir = "reports/provenance"
confidence_level = 0.95
reliability_bootstrap = 2000
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

from integrating import contract, plotting, provenance, reliability, support

plotting.use_style(**plotting.config_settings(globals()))  # the figure_* parameters
run = provenance.Run.start("01_data_inventory", globals())
study = contract.load(raw_dir)
run.input(*study.files())
can = support.Guard(run, study)  # the analyses these data support (cells marked %%needs)
synthetic = "SYNTHETIC " if study.info.synthetic else ""
print(f"{synthetic}study: {len(study.clinics)} clinics over {study.info.months} months "
      f"from {study.info.start_date} to {study.info.end_date}")

# %% [markdown]
# ## Case-by-source inventory

# %%
inventory = reliability.inventory_data(study.clinics, study.documents, study.coded_segments,
                                       study.survey_responses)
run.table(inventory, Path(derived_dir) / "inventory.csv")
inventory

# %%
fig, ax = plotting.new_figure("two", 2.6)
reliability.inventory_plot(inventory, ax)
plotting.finish(fig, study.info.synthetic)
run.figure(fig, Path(figures_dir) / "inventory",
           caption=f"Documents per clinic by source type ({synthetic}data; n = {int(inventory['n_documents'].sum())} "
                   "documents). Source: data/derived/inventory.csv.")
plt.show()

# %% [markdown]
# ## Coding reliability
#
# Unit of agreement: a (document, code) pair, *present* when the coder applied the code anywhere in
# the document. The reliability sample is every document both coders coded: as listed in the optional
# `coders` column of `documents.csv`, or, without it, the documents in which a coder applied any code,
# with the primary coder (segments in the most documents) taken to have coded every document; a coder
# who coded a document and applied no code there counts every code as absent. On that sample we report
# percent agreement, Cohen's kappa (statsmodels) and Krippendorff's alpha for nominal data (the
# `krippendorff` package), per code and pooled over all codes, with percentile bootstrap confidence
# intervals that resample documents (`reliability_bootstrap` replicates, seeded by `seed`).

# %%
# %%needs reliability --tables coding_reliability.csv
agreement = reliability.reliability_table(study.coded_segments, study.codebook, documents=study.documents,
                                          replicates=reliability_bootstrap, seed=seed,
                                          confidence=confidence_level)
run.table(agreement, Path(derived_dir) / "coding_reliability.csv")
agreement

# %%
# %%needs reliability --figures coding_reliability
fig, ax = plotting.new_figure("one", 1.2 + 0.16 * len(agreement))
labels = dict(zip(study.codebook["code"], study.codebook["label"]))
reliability.reliability_plot(agreement, ax, labels=plotting.short_labels(labels))
plotting.finish(fig, study.info.synthetic)
run.figure(fig, Path(figures_dir) / "coding_reliability",
           caption="Inter-coder agreement per code at document-level code presence: Cohen's kappa (bars, with "
                   f"{agreement['ci_method'].iloc[0]} CIs), "
                   f"Krippendorff's alpha (points), overall kappa (dashed). {synthetic}data. "
                   "Source: data/derived/coding_reliability.csv." + plotting.label_key(labels, plotting.short_labels(labels)))
plt.show()

# %%
run.finish()
