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
# # 02 · Case segmentation and cross-case comparison
#
# The study segments its clinics into those that **implemented more** and those that **implemented
# less** of their improvement changes, then compares the two groups to find what distinguishes them:
# the four mechanisms through which clinic managers were *integrating* (engaging groups, bridging
# communication, sensemaking, negotiating). This notebook makes each step explicit and parameterised:
# the segmentation rule, a case-ordered meta-matrix of the mechanisms (Miles & Huberman), an exact test
# and a rule-based verdict per mechanism, the same comparison for barriers, the stakeholder groups that
# each clinic's mechanisms connected, and how the results move with the segmentation cut-off.
#
# **The bundled data are SYNTHETIC** (`integrating synth`): invented clinics and texts that follow the
# published design. Run the same notebook on real data that follow the data contract
# (`docs/data-contract.md`); with real data set `show_excerpts = False` unless consent allows quoting.
# Methods: `docs/methods-segmentation.md`.

# %% tags=["parameters"]
raw_dir = "data/raw"
derived_dir = "data/derived"
figures_dir = "figures"
provenance_dir = "reports/provenance"
segmentation_rule = "share"
implementation_threshold = 0.5
implemented_count_threshold = 3
threshold_grid = [0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7]
distinguishing_p_strong = 0.05
distinguishing_p_weak = 0.10
mechanism_coders = "primary"
show_excerpts = "auto"
excerpts_per_mechanism = 2
permutation_max_exact = 1000000

figure_formats = ["svg", "pdf", "png"]
figure_dpi = 600
figure_font_size = 8
figure_width_one_column_mm = 85
figure_width_two_columns_mm = 175
figure_pack_format = "pdf"

# %%
from pathlib import Path

import matplotlib.pyplot as plt

from integrating import config, contract, mechanisms, plotting, provenance, segmentation, support

plotting.use_style(**plotting.config_settings(globals()))  # the figure_* parameters
run = provenance.Run.start("02_case_segmentation", globals())
study = contract.load(raw_dir)
run.input(*study.files())
derived, figures = Path(derived_dir), Path(figures_dir)
can = support.Guard(run, study, rule=segmentation_rule, threshold=implementation_threshold,
                    count_threshold=implemented_count_threshold)  # the analyses these data support
synthetic = "SYNTHETIC " if study.info.synthetic else ""
labels = dict(zip(study.codebook["code"], study.codebook["label"]))
short = plotting.short_labels(labels)  # in figures; each caption gives the shortened ones in full
mechanism_codes = study.mechanism_codes
compare = dict(labels=labels, p_strong=distinguishing_p_strong, p_weak=distinguishing_p_weak,
               max_exact=permutation_max_exact)
print(f"{synthetic}study: {len(study.clinics)} clinics over {study.info.months} months")

# %% [markdown]
# ## Segmentation
#
# A clinic's **implementation share** is the number of its distinct changes whose latest status at or
# before the final study month is `implemented`, divided by its number of distinct changes (0 for a
# clinic without changes). The rule `segmentation_rule` then assigns the groups: `share` (share at
# least `implementation_threshold`), `median` (share at least the median of all clinics) or `count`
# (at least `implemented_count_threshold` implemented changes).
#
# *The paper reports 9 clinics that implemented more and 7 that implemented less but does not publish
# its exact rule; the rule used here is an operational choice, and the sensitivity analysis below
# shows how much depends on it.*

# %%
# %%needs segmentation --tables clinic_segments.csv
segments = segmentation.clinic_segments(
    study.clinics, study.implementation_log, months=study.info.months, rule=segmentation_rule,
    threshold=implementation_threshold, count_threshold=implemented_count_threshold,
)
run.table(segments, derived / "clinic_segments.csv")
sizes = segmentation.group_sizes(segments)
rule_text = {"share": f"implementation share >= {implementation_threshold:g}",
             "median": "implementation share >= the median share",
             "count": f"implemented changes >= {implemented_count_threshold}"}[segmentation_rule]
print(f"Rule '{segmentation_rule}' ({rule_text}): {sizes['more']} clinics implemented more, "
      f"{sizes['less']} less")
segmentation.case_order(segments)

# %%
# %%needs segmentation --figures implementation_trajectories
cut = implementation_threshold if segmentation_rule == "share" else None
trajectories = segmentation.trajectories_data(study.implementation_log, segments, study.info.months)
fig, (ax1, ax2) = plotting.new_figure("two", 3.2, ncols=2, width_ratios=[1.4, 1])
segmentation.trajectories_plot(trajectories, ax1, threshold=cut)
segmentation.case_order_plot(segmentation.case_order_data(segments), ax2, threshold=cut)
ax1.set_title("a  Implementation over the study", loc="left")
ax2.set_title("b  Clinics in case order", loc="left")
plotting.finish(fig, study.info.synthetic)
run.figure(fig, figures / "implementation_trajectories",
           caption=f"(a) Share of each clinic's changes implemented by study month, coloured by group; "
                   f"(b) clinics ordered by implementation share at the final month (implemented/all "
                   f"changes). Rule: {rule_text}. {synthetic}data. Source: data/derived/clinic_segments.csv.")
plt.show()

# %% [markdown]
# ## Mechanism meta-matrix
#
# For each clinic and mechanism: the number of distinct documents of the clinic in which the
# mechanism's code was applied, and the same per 10 documents. A code counts once per document, from
# the document's primary coder when `mechanism_coders` is `primary` (the default: the double-coded
# documents are unevenly spread over the groups, so counting a second coder's codes would favour one
# group) or from any coder when it is `union` (the rate corrects for clinics with more
# or fewer documents; 0 for a clinic without documents). Rows are case-ordered by implementation share.

# %%
# %%needs segmentation --tables mechanism_matrix.csv mechanism_rates.csv
matrix, rates = mechanisms.mechanism_matrix(segments, study.documents, study.coded_segments, mechanism_codes,
                                             coders=mechanism_coders)
run.table(matrix, derived / "mechanism_matrix.csv")
run.table(rates, derived / "mechanism_rates.csv")
matrix

# %%
# %%needs segmentation --figures mechanism_heatmap
fig, ax = plotting.new_figure("one", 1.4 + 0.17 * len(rates))
mechanisms.heatmap_plot(mechanisms.heatmap_data(rates, mechanism_codes, short), ax,
                        value_label="documents with code per 10 documents")
plotting.finish(fig, study.info.synthetic)
run.figure(fig, figures / "mechanism_heatmap",
           caption="Case-ordered meta-matrix: documents in which each integrating mechanism was coded, per 10 "
                   "documents of the clinic; clinics that implemented more above the line (labels coloured by "
                   f"group, implementation share in brackets). {synthetic}data. "
                   "Source: data/derived/mechanism_rates.csv." + plotting.label_key(labels, short))
plt.show()

# %% [markdown]
# ## Distinguishing mechanisms
#
# Per mechanism: group means of the per-10 rates, their difference (more − less), Hedges g, and a
# two-sided Wilcoxon–Mann–Whitney test whose p-value is exact (all relabelings of the clinics
# enumerated, mid-ranks for ties) up to `permutation_max_exact` relabelings. Clinics without documents
# are left out. The four mechanisms are one family of tests: `p_holm` is the Holm-adjusted p-value
# across them, and the verdict, in the style of CFIR's distinguishing constructs, uses it:
#
# * **strongly distinguishing**: adjusted p < `distinguishing_p_strong` and more > less;
# * **weakly distinguishing**: otherwise, more > less and adjusted p < `distinguishing_p_weak`;
# * **not distinguishing**: otherwise. An effect size alone never makes a verdict.

# %%
# %%needs group_comparison --tables mechanism_comparison.csv
comparison = mechanisms.compare_groups(rates, mechanism_codes, direction="more", **compare)
run.table(comparison, derived / "mechanism_comparison.csv")
comparison

# %%
# %%needs group_comparison --figures mechanism_comparison
fig, ax = plotting.new_figure("one", 1.0 + 0.38 * len(comparison))
mechanisms.comparison_plot(comparison.assign(label=comparison["code"].map(short)), ax)
plotting.finish(fig, study.info.synthetic)
run.figure(fig, figures / "mechanism_comparison",
           caption="Integrating mechanisms by group: mean documents with the code per 10 documents; verdict, "
                   f"Holm-adjusted two-sided p ({comparison['test'].iloc[0]}) and Hedges g. {synthetic}data. "
                   "Source: data/derived/mechanism_comparison.csv." + plotting.label_key(labels, short))
plt.show()

# %% [markdown]
# ## Barriers
#
# The same comparison for the barrier codes, with the barriers as their own family for the Holm
# adjustment. No direction is assumed (`direction="either"`): a barrier
# distinguishes the groups when it is more frequent in either of them. Barriers coded in both groups
# describe the fragmented environment that all clinics faced.

# %%
# %%needs group_comparison --tables barrier_comparison.csv
barrier_codes = study.codes_of("barrier")
_, barrier_rates = mechanisms.mechanism_matrix(segments, study.documents, study.coded_segments, barrier_codes,
                                              coders=mechanism_coders)
barriers = mechanisms.compare_groups(barrier_rates, barrier_codes, direction="either", **compare)
run.table(barriers, derived / "barrier_comparison.csv")
barriers

# %%
# %%needs group_comparison --figures barrier_comparison
fig, ax = plotting.new_figure("one", 1.0 + 0.38 * max(len(barriers), 1))
mechanisms.comparison_plot(barriers.assign(label=barriers["code"].map(short)), ax)
plotting.finish(fig, study.info.synthetic)
run.figure(fig, figures / "barrier_comparison",
           caption="Barriers by group: mean documents with the code per 10 documents; verdict (either direction), "
                   f"two-sided p and Hedges g. {synthetic}data. Source: data/derived/barrier_comparison.csv." + plotting.label_key(labels, short))
plt.show()

# %% [markdown]
# ## Stakeholder groups connected by the mechanisms
#
# For each clinic and stakeholder-group code: the number of mechanism-coded segments that overlap a
# segment of that stakeholder code in the same document (0 = the clinic's mechanisms never reached that
# group). A network per group of clinics shows which stakeholder groups were brought together: an edge
# joins two groups when a single mechanism segment overlaps both, weighted by the number of clinics in
# which that happened. Dense networks are the evidence for *unity of effort*, sparse ones for
# *fragmentation*.

# %%
# %%needs segmentation --tables stakeholder_connections.csv
stakeholder_codes = study.codes_of("stakeholder")
connections = mechanisms.stakeholder_connections(segments, study.documents, study.coded_segments,
                                                 mechanism_codes, stakeholder_codes)
run.table(connections, derived / "stakeholder_connections.csv")
network = mechanisms.stakeholder_network_data(segments, study.documents, study.coded_segments,
                                              mechanism_codes, stakeholder_codes)
connections

# %%
# %%needs segmentation --figures stakeholder_connections
shares = connections.merge(segments[["clinic_id", "implementation_share"]], on="clinic_id")
fig, ax = plotting.new_figure("one", 1.4 + 0.17 * len(shares))
mechanisms.heatmap_plot(mechanisms.heatmap_data(shares, stakeholder_codes, short), ax, fmt="{:.0f}",
                        value_label="mechanism segments overlapping the group", cmap="Greens")
plotting.finish(fig, study.info.synthetic)
run.figure(fig, figures / "stakeholder_connections",
           caption="Stakeholder groups reached by the integrating mechanisms: mechanism-coded segments overlapping "
                   "each stakeholder code, per clinic; implemented more above the line. "
                   f"{synthetic}data. Source: data/derived/stakeholder_connections.csv." + plotting.label_key(labels, short))
plt.show()

# %%
# %%needs segmentation --figures stakeholder_networks
fig, axes = plotting.new_figure("two", 3.0, ncols=2)
mechanisms.network_plot(network, axes, labels=short)
plotting.finish(fig, study.info.synthetic)
run.figure(fig, figures / "stakeholder_networks",
           caption="Stakeholder groups (nodes; clinics of the group reaching them in brackets) and the pairs brought "
                   "together by one mechanism-coded segment (edges; number = clinics of the group). "
                   f"{synthetic}data. Source: data/derived/stakeholder_connections.csv and coded segments." + plotting.label_key(labels, short))
plt.show()

# %% [markdown]
# ## Sensitivity to the segmentation cut-off
#
# The share rule re-applied at each cut-off of `threshold_grid`: how many clinics fall in each group,
# how many change group relative to the configured rule, and the verdict of each mechanism ("not
# computable" when a group has fewer than 2 clinics with documents).

# %%
# %%needs segmentation --tables segmentation_sensitivity.csv
sensitivity = mechanisms.segmentation_sensitivity(segments, rates, mechanism_codes, threshold_grid,
                                                  direction="more", **compare)
run.table(sensitivity, derived / "segmentation_sensitivity.csv")
sensitivity

# %%
# %%needs segmentation --figures segmentation_sensitivity
fig, axes = plotting.new_figure("two", 1.9 + 0.3 * len(mechanism_codes), nrows=2, height_ratios=[1.4, 0.3 * len(mechanism_codes)])
mechanisms.sensitivity_plot(sensitivity, axes, codes=mechanism_codes, labels=short, configured=cut)
plotting.finish(fig, study.info.synthetic)
run.figure(fig, figures / "segmentation_sensitivity",
           caption="Segmentation by implementation-share cut-off: clinics per group and clinics changing group "
                   f"relative to the configured rule ({rule_text}); verdict of each mechanism at each cut-off. "
                   f"{synthetic}data. Source: data/derived/segmentation_sensitivity.csv." + plotting.label_key(labels, short))
plt.show()

# %% [markdown]
# ## Exemplar excerpts
#
# For teaching: up to `excerpts_per_mechanism` coded passages per mechanism, verbatim, one per clinic,
# from the clinics with the highest implementation share. Written and shown only when `show_excerpts`
# is true, or `auto` and the data are synthetic: the synthetic texts are invented, while a real
# study's field notes and interviews stay out unless `show_excerpts = True` is set because the
# participants' consent allows quoting (a previous excerpts table is then removed).

# %%
# %%needs segmentation --tables mechanism_excerpts.csv
excerpts_path = derived / "mechanism_excerpts.csv"
shown, why = config.excerpts_shown(show_excerpts, study.info.synthetic)
if shown:
    excerpts = mechanisms.mechanism_excerpts(segments, study.documents, study.coded_segments, mechanism_codes,
                                             excerpts_per_mechanism, study.text)
    run.table(excerpts, excerpts_path)
    for row in excerpts.itertuples():
        print(f"[{labels.get(row.code, row.code)} · {row.clinic_id} · {row.document_id}]\n  {row.excerpt}\n")
else:
    excerpts_path.unlink(missing_ok=True)
    print(f"Excerpts not shown: {why}.")

# %%
run.finish()
