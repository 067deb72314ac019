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
# # 03 · The conceptual model, drawn from a declarative model file
#
# The paper's conceptual model: in fragmented health-care environments (stakeholder groups that work
# apart, lack of time), clinic managers' practice of **integrating**, enacted through four mechanisms
# (engaging groups, bridging communication, sensemaking, negotiating), produces **unity of effort**
# among stakeholder groups toward a shared, mutually developed goal, which **enables implementation**
# of improvement, which relates to **performance** (the change in patients' survey ratings).
#
# *The published figure is not available to the compendium: the model is drawn from the words of the
# paper's abstract, and says so in its caption.*
#
# The model is data. The file `model_file` (by default the package's `conceptual_model.yaml`) lists the
# nodes (label, kind, layer), the groups of nodes and the arrows; it is validated on load, and every
# problem names its key. Editing a label there and rerunning changes the figures; nothing about the
# model is written in drawing code. This notebook draws:
#
# * **Figure A**, the model, at two journal columns (`conceptual_model`) and one column
#   (`conceptual_model_1col`);
# * **Figure B**, the *evidenced* model: the same boxes with the numbers of the derived tables of
#   notebooks 02 (case segmentation) and 04 (survey effect) written into them;
# * **Figure C**, small multiples: for each clinic, which mechanisms were enacted and which stakeholder
#   groups they connected, in order of implementation share.
#
# Every figure is checked for overlapping boxes, labels and arrows before it is written.
#
# **The bundled data are SYNTHETIC** (`integrating synth`): Figures B and C illustrate the method and
# are stamped as synthetic; their numbers are not the published study's.

# %% tags=["parameters"]
raw_dir = "data/raw"
derived_dir = "data/derived"
figures_dir = "figures"
provenance_dir = "reports/provenance"
model_file = "src/integrating/conceptual_model.yaml"
max_clinic_panels = 48

figure_formats = ["svg", "pdf", "png"]
figure_dpi = 600
figure_font_size = 8
figure_width_one_column_mm = 85
figure_width_two_columns_mm = 175
figure_pack_format = "pdf"

# %%
from pathlib import Path

from integrating import conceptual_model, contract, diagram, evidenced_model, overlap, plotting, provenance
from integrating import small_multiples, support
from integrating.derived import derived_paths, read_derived

plotting.use_style(**plotting.config_settings(globals()))  # the figure_* parameters
run = provenance.Run.start("03_conceptual_model", globals())
study = contract.load(raw_dir)
run.input(*study.files())
derived, figures = Path(derived_dir), Path(figures_dir)
can = support.Guard(run, study)  # Figures B and C need the tables of notebooks 02 and 04

# %% [markdown]
# ## The model file
#
# One row per node, group and arrow, as read from the file. Layers run left to right at two columns
# and top to bottom at one column; a group is drawn as a frame around its members.

# %%
conceptual = conceptual_model.load(model_file)
run.input(conceptual.path)
conceptual_model.conceptual_model_data(conceptual)

# %% [markdown]
# ## Figure A: the conceptual model
#
# Boxes are sized to their wrapped labels, arrows are attached to the boxes' facing edges, and the
# palette is Okabe-Ito (colour-blind safe; the kinds are also told apart by position and the group
# frames). Text is converted to paths in the SVG and embedded as TrueType in the PDF, so both render
# the same anywhere. `overlap.check_layout` measures every drawn box, label and arrow and stops the run
# on any overlap (an edited model that does not fit says what to change).

# %%
caption_a = diagram.conceptual_model_caption(conceptual)
for stem, width in [("conceptual_model", plotting.width("two")), ("conceptual_model_1col", plotting.width("one"))]:
    fig_a = diagram.conceptual_model_plot(conceptual, width)
    overlap.check_layout(fig_a)
    run.figure(fig_a, figures / stem, caption=caption_a)
plotting.preview(fig_a)

# %% [markdown]
# ## Figure B: the evidenced model
#
# The same model, annotated from the derived tables (declared as inputs of this notebook, so the
# pipeline runs notebooks 02 and 04 first, and named in its provenance record). What each box shows is
# set by the node's `evidence` key in the model file:
#
# * **mechanisms** (`mechanism_comparison.csv`): coding per 10 documents in clinics that implemented
#   more vs less, the standardised difference (Hedges g), the exact test's p-value and the verdict;
# * **unity of effort** (`stakeholder_connections.csv`): stakeholder groups per clinic whose coded
#   passages overlap a mechanism-coded passage, mean per group (a proxy: the coding records that the
#   groups were brought into the same conversation, not that they agreed);
# * **implementation** (`clinic_segments.csv`): mean implementation share per group;
# * **performance** (`survey_group_change.csv`, `survey_effects.csv`): mean change of the patient-survey
#   composite per group, and the p-value of the analysis named in the model file.
#
# The table below holds every number drawn, with the table it comes from; it is also written to
# `evidenced_model.csv`.

# %%
# %%needs --inputs clinic_segments.csv mechanism_comparison.csv stakeholder_connections.csv survey_group_change.csv survey_effects.csv --tables evidenced_model.csv
evidence_paths = derived_paths(derived, evidenced_model.evidence_tables(conceptual))
run.input(*evidence_paths.values())
evidence = evidenced_model.evidenced_model_data(
    conceptual, **{name: read_derived(path) for name, path in evidence_paths.items()}
)
run.table(evidence, derived / "evidenced_model.csv")
evidence

# %%
# %%needs --inputs evidenced_model.csv --figures evidenced_model
fig_b = evidenced_model.evidenced_model_plot(conceptual, evidence, plotting.width("two"))
plotting.finish(fig_b, study.info.synthetic)
overlap.warn_layout(fig_b)  # data-driven notes: a warning, never a stopped run
run.figure(fig_b, figures / "evidenced_model",
           caption=evidenced_model.evidenced_model_caption(conceptual, evidence, study.info.synthetic))
plotting.preview(fig_b)

# %% [markdown]
# ## Figure C: how integrating looked in each clinic
#
# One panel per clinic, in order of implementation share. In each panel the mechanisms (squares, left)
# feed the manager's integrating (diamond), which reaches the stakeholder groups (circles, right). A
# mechanism is filled and linked when it was coded in at least one of the clinic's documents
# (`mechanism_rates.csv`); a stakeholder group is filled and linked when a mechanism-coded passage
# overlaps a passage coding that group (`stakeholder_connections.csv`). The thicker the link, the more
# documents coded (or overlaps) per 10 of the clinic's documents, relative to the largest in the figure. Beyond `max_clinic_panels`
# clinics, that many are shown, evenly spaced along the order (the caption says so).

# %%
# %%needs --inputs mechanism_rates.csv stakeholder_connections.csv --tables clinic_small_multiples.csv --figures clinic_small_multiples
small_paths = derived_paths(derived, small_multiples.SMALL_MULTIPLES_TABLES)
run.input(*small_paths.values())
rates, connections = (read_derived(path) for path in small_paths.values())
small = small_multiples.clinic_small_multiples_data(rates, connections, codebook=study.codebook, clinics=study.clinics,
                                          max_clinics=max_clinic_panels)
run.table(small, derived / "clinic_small_multiples.csv")
fig_c = small_multiples.clinic_small_multiples_plot(small, plotting.width("two"))
plotting.finish(fig_c, study.info.synthetic)
overlap.warn_layout(fig_c)  # real clinic names: a warning, never a stopped run
run.figure(fig_c, figures / "clinic_small_multiples",
           caption=small_multiples.clinic_small_multiples_caption(small, len(rates), study.info.synthetic,
                                                                   plotting.width("two")))
plotting.preview(fig_c)

# %% [markdown]
# ## Reading the figures
#
# Figure A is a drawing of the authors' argument, not a result: its arrows are the paper's claims.
# Figures B and C put the data of this compendium next to those claims. A mechanism marked "strongly
# distinguishing" was coded more often in clinics that implemented more; the arrows themselves remain
# untested (the study design is comparative case study, not causal inference). With the bundled
# synthetic data, the numbers illustrate how the figures work and nothing more.

# %%
run.finish()
