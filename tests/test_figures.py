"""Every figure of the study drawn from a small synthetic study, as the notebooks draw it: exact width,
no text under 6 pt, no text, legend or stamp on another text or on the data (renderer extents); the
figure settings, the saved files' widths and formats, and the figure registry."""

from __future__ import annotations

import re

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest

from integrating import (
    contract,
    diagram,
    evidenced_model,
    figures,
    io,
    mechanisms,
    multiverse,
    overlap,
    power_figure,
    plotting,
    reliability,
    segmentation,
    small_multiples,
    survey,
    synth,
)
from integrating import conceptual_model as cm
from integrating.errors import ConfigError

from figure_fixtures import MM_PER_POINT as MM
from figure_fixtures import pdf_width_mm, style  # noqa: F401  (style: autouse, the compendium's figure style)



@pytest.fixture(scope="module")
def study(tmp_path_factory):
    raw = tmp_path_factory.mktemp("figs") / "raw"
    synth.write(synth.generate(seed=11, clinics=8), raw)
    return contract.load(raw)


@pytest.fixture(scope="module")
def tables(study):
    """The derived tables the figures are drawn from, computed as the notebooks compute them."""
    labels = dict(zip(study.codebook["code"], study.codebook["label"]))
    segments = segmentation.clinic_segments(study.clinics, study.implementation_log, months=study.info.months,
                                            rule="median", threshold=0.5, count_threshold=3)
    codes = study.mechanism_codes
    matrix, rates = mechanisms.mechanism_matrix(segments, study.documents, study.coded_segments, codes)
    compare = dict(labels=labels, p_strong=0.05, p_weak=0.1, max_exact=100_000)
    stake = study.codes_of("stakeholder")
    barrier_codes = study.codes_of("barrier")
    _, barrier_rates = mechanisms.mechanism_matrix(segments, study.documents, study.coded_segments, barrier_codes)
    scored = survey.composite_scores(study.survey_responses, study.survey_items, min_answered=0.5)
    change = survey.clinic_change(scored, segments, min_answered=0.5)
    result = multiverse.multiverse(
        study.clinics, study.implementation_log, study.survey_responses, study.survey_items,
        months=study.info.months, rule="median", threshold=0.5, count_threshold=3, threshold_grid=[0.4, 0.6],
        count_grid=[2], min_answered=0.5, min_answered_grid=[0.5], max_loo_clinics=2, confidence=0.95,
        max_exact=5000, draws=500, seed=1)
    return dict(
        labels=labels, segments=segments, codes=codes, rates=rates, stake=stake,
        inventory=reliability.inventory_data(study.clinics, study.documents, study.coded_segments,
                                             study.survey_responses),
        agreement=reliability.reliability_table(study.coded_segments, study.codebook),
        trajectories=segmentation.trajectories_data(study.implementation_log, segments, study.info.months),
        comparison=mechanisms.compare_groups(rates, codes, direction="more", **compare),
        barriers=mechanisms.compare_groups(barrier_rates, barrier_codes, direction="either", **compare),
        connections=mechanisms.stakeholder_connections(segments, study.documents, study.coded_segments, codes, stake),
        network=mechanisms.stakeholder_network_data(segments, study.documents, study.coded_segments, codes, stake),
        sensitivity=mechanisms.segmentation_sensitivity(segments, rates, codes, [0.3, 0.5, 0.7], direction="more",
                                                        **compare),
        change=change,
        effects=survey.survey_effects(scored, change.table, confidence=0.95, max_exact=100_000, draws=1000, seed=1),
        multiverse=result,
    )


def _one(columns, height, plot, **kw):
    fig, ax = plotting.new_figure(columns, height, **kw)
    plot(fig, ax)
    return fig


def figure_makers(t, study):
    """Each figure of notebooks 01, 02, 04 and 06, drawn as its notebook draws it."""
    lab = t["labels"]
    return {
        "inventory": lambda: _one("two", 2.6, lambda f, ax: reliability.inventory_plot(t["inventory"], ax)),
        "coding_reliability": lambda: _one(
            "one", 1.2 + 0.16 * len(t["agreement"]),
            lambda f, ax: reliability.reliability_plot(t["agreement"], ax, labels=lab)),
        "implementation_trajectories": lambda: _one(
            "two", 3.2, lambda f, axes: (
                segmentation.trajectories_plot(t["trajectories"], axes[0], threshold=None),
                segmentation.case_order_plot(segmentation.case_order_data(t["segments"]), axes[1]),
                axes[0].set_title("a  Implementation over the study", loc="left"),
                axes[1].set_title("b  Clinics in case order", loc="left")),
            ncols=2, width_ratios=[1.4, 1]),
        "mechanism_heatmap": lambda: _one(
            "one", 1.4 + 0.17 * len(t["rates"]),
            lambda f, ax: mechanisms.heatmap_plot(mechanisms.heatmap_data(t["rates"], t["codes"], lab), ax,
                                                  value_label="documents with code per 10 documents")),
        "mechanism_comparison": lambda: _one(
            "one", 1.0 + 0.38 * len(t["comparison"]), lambda f, ax: mechanisms.comparison_plot(t["comparison"], ax)),
        "barrier_comparison": lambda: _one(
            "one", 1.0 + 0.38 * len(t["barriers"]), lambda f, ax: mechanisms.comparison_plot(t["barriers"], ax)),
        "stakeholder_connections": lambda: _one(
            "one", 1.4 + 0.17 * len(t["connections"]),
            lambda f, ax: mechanisms.heatmap_plot(
                mechanisms.heatmap_data(t["connections"].merge(t["segments"][["clinic_id", "implementation_share"]],
                                                               on="clinic_id"), t["stake"], lab),
                ax, fmt="{:.0f}", value_label="mechanism segments overlapping the group", cmap="Greens")),
        "stakeholder_networks": lambda: _one(
            "two", 3.0, lambda f, axes: mechanisms.network_plot(t["network"], axes, labels=lab), ncols=2),
        "segmentation_sensitivity": lambda: _one(
            "two", 1.9 + 0.3 * len(t["codes"]),
            lambda f, axes: mechanisms.sensitivity_plot(t["sensitivity"], axes, codes=t["codes"], labels=lab,
                                                        configured=0.5),
            nrows=2, height_ratios=[1.4, 0.3 * len(t["codes"])]),
        "survey_interaction": lambda: _one(
            "one", 2.8, lambda f, ax: survey.interaction_plot(survey.interaction_data(t["change"].table), ax)),
        "survey_change_by_group": lambda: _one(
            "one", 2.8, lambda f, ax: survey.change_by_group_plot(survey.change_by_group_data(t["change"].table), ax)),
        "survey_permutation": lambda: _one(
            "one", 2.4, lambda f, ax: survey.permutation_plot(
                survey.permutation_data(t["change"].table["change"], t["change"].table["group"], seed=1), ax)),
        "survey_forest": lambda: _one("two", 2.8, lambda f, _: survey.forest_plot(survey.forest_data(t["effects"]), f),
                                      nrows=0),
        "multiverse_curve": lambda: _one(
            "two", 5.6, lambda f, _: multiverse.spec_curve_plot(
                multiverse.spec_curve_data(t["multiverse"].table, test="student_t", alpha=0.05), f), nrows=0),
        "multiverse_choices": lambda: _one(
            "one", 1.0 + 0.13 * len(multiverse.summary_data(t["multiverse"].summary)),
            lambda f, ax: multiverse.summary_plot(multiverse.summary_data(t["multiverse"].summary), ax)),
    }


NAMES = ["inventory", "coding_reliability", "implementation_trajectories", "mechanism_heatmap",
         "mechanism_comparison", "barrier_comparison", "stakeholder_connections", "stakeholder_networks",
         "segmentation_sensitivity", "survey_interaction", "survey_change_by_group", "survey_permutation",
         "survey_forest", "multiverse_curve", "multiverse_choices"]


@pytest.mark.parametrize("synthetic", [True, False], ids=["synthetic", "real"])
@pytest.mark.parametrize("name", NAMES)
def test_every_figure_is_clear_at_its_exact_width(tables, study, name, synthetic):
    fig = figure_makers(tables, study)[name]()
    width = fig.get_figwidth()
    plotting.finish(fig, synthetic)
    assert fig.get_figwidth() == width and round(width * 25.4, 6) in (85, 175)
    assert overlap.figure_problems(fig) == []
    stamps = [t for t in fig.texts if t.get_text() == plotting.STAMP_TEXT]
    assert len(stamps) == (1 if synthetic else 0)


def test_model_figures_pass_the_general_check_too(tables, study):
    """Figures A (not stamped: a drawing of the authors' argument), B and C, as notebook 03 draws them."""
    m = cm.load()
    data = evidenced_model.evidenced_model_data(
        m, clinic_segments=tables["segments"], mechanism_comparison=tables["comparison"],
        stakeholder_connections=tables["connections"], survey_group_change=survey.group_change(tables["change"].table),
        survey_effects=tables["effects"])
    small = small_multiples.clinic_small_multiples_data(tables["rates"], tables["connections"],
                                                        codebook=study.codebook, clinics=study.clinics)
    for fig, stamped in ((diagram.conceptual_model_plot(m, plotting.width("two")), False),
                         (diagram.conceptual_model_plot(m, plotting.width("one")), False),
                         (evidenced_model.evidenced_model_plot(m, data, plotting.width("two")), True),
                         (small_multiples.clinic_small_multiples_plot(small, plotting.width("two")), True)):
        plotting.finish(fig, stamped)
        assert round(fig.get_figwidth() * 25.4, 6) in (85, 175)
        assert overlap.figure_problems(fig) == []
        assert overlap.layout_problems(fig) == []


# --- the check itself: it finds what it should -----------------------------------------------------


def test_the_check_finds_a_legend_on_the_data_a_small_text_and_overlapping_labels():
    fig, ax = plotting.new_figure("one", 2.0)
    ax.barh(["a", "b", "c"], [1, 2, 3], label="bars")
    ax.axvline(2.5, ls="--", label="line")
    ax.legend(loc="center")
    ax.text(0.5, 1.0, "tiny", fontsize=5)
    ax.set_xlabel("x label")
    fig.text(0.5, 0.05, "stamp over the x label", ha="center")
    plotting.finish(fig, False, check=False)
    problems = overlap.figure_problems(fig)
    assert any("legend" in p and "lies on the bar" in p for p in problems)
    assert any("'tiny' is 5 pt" in p for p in problems)
    assert any("lies on the bar" in p and "'tiny'" in p for p in problems)
    assert any("'stamp over the x label' overlaps label 'x label'" in p for p in problems)


def test_the_check_finds_a_dashed_line_through_a_legend_and_crowded_ticks():
    fig, ax = plotting.new_figure("one", 2.0)
    ax.plot([0, 1], [0, 0], label="flat")
    ax.axvline(0.5, ls="--")
    ax.legend(loc="center")
    ax.set_xticks(np.linspace(0, 1, 40), [f"label {i}" for i in range(40)])
    plotting.finish(fig, False, check=False)
    problems = overlap.figure_problems(fig)
    assert any(p.startswith("legend ['flat'] lies on the line") for p in problems)
    assert any(p.startswith("tick 'label 0' overlaps tick 'label 1'") for p in problems)


def test_text_placed_on_the_data_on_purpose_is_allowed():
    fig, ax = plotting.new_figure("one", 2.0)
    ax.bar([0], [1])
    ax.text(0, 0.5, "1.0", ha="center", gid=overlap.ON_DATA)
    plotting.finish(fig, True)
    assert overlap.figure_problems(fig) == []


def test_the_synthetic_stamp_keeps_clear_of_the_x_label():
    fig, ax = plotting.new_figure("one", 1.5)
    ax.plot([0, 1], [0, 1])
    ax.set_xlabel("a long x-axis label, centred under the axes")
    plotting.finish(fig, True)
    assert overlap.figure_problems(fig) == []
    stamp = next(t for t in fig.texts if t.get_gid() == plotting.STAMP_GID)
    r = fig.canvas.get_renderer()
    gap_pt = (ax.xaxis.label.get_window_extent(r).y0 - stamp.get_window_extent(r).y1) * 72 / fig.dpi
    assert gap_pt >= 2


# --- sizes, formats, resolution -----------------------------------------------------------------


@pytest.mark.parametrize("columns,mm", [("one", 85), ("two", 175)])
def test_saved_pdf_keeps_the_exact_width_whatever_the_content(tmp_path, columns, mm):
    fig, ax = plotting.new_figure(columns, 2.0)
    ax.set_yticks([0, 1], ["a very long tick label that would widen a tight bounding box", "b"])
    ax.set_title("title")
    plotting.finish(fig, True)
    written = io.save_figure(fig, tmp_path / "f")
    assert [p.suffix for p in written] == [".svg", ".pdf", ".png"]
    assert abs(pdf_width_mm(tmp_path / "f.pdf") - mm) <= 0.3
    from PIL import Image

    with Image.open(tmp_path / "f.png") as png:
        assert png.size[0] == int(mm / 25.4 * 600)


def test_configured_tiff_is_600_dpi_lzw_and_the_same_width(tmp_path):
    from PIL import Image

    plotting.configure(formats=["pdf", "tiff", "eps"], dpi=600)
    fig, ax = plotting.new_figure("two", 2.0)
    ax.plot([0, 1], [0, 1], alpha=0.5)
    plotting.finish(fig, True)
    written = io.save_figure(fig, tmp_path / "f")
    assert [p.name for p in written] == ["f.pdf", "f.tiff", "f.eps"]
    with Image.open(tmp_path / "f.tiff") as tiff:
        assert tiff.info["compression"] == "tiff_lzw"
        assert tiff.info["dpi"] == pytest.approx((600, 600))
        assert abs(tiff.size[0] / 600 * 25.4 - 175) <= 0.3 and tiff.size[0] == int(175 / 25.4 * 600)
    eps = (tmp_path / "f.eps").read_bytes()
    box = re.search(rb"%%HiResBoundingBox: ([-\d.]+) ([-\d.]+) ([-\d.]+) ([-\d.]+)", eps)
    assert abs((float(box.group(3)) - float(box.group(1))) * MM - 175) <= 0.3
    assert b"CreationDate" not in eps
    assert abs(pdf_width_mm(tmp_path / "f.pdf") - 175) <= 0.3


def test_configured_widths_and_font_size(tmp_path):
    plotting.use_style(one_column_mm=80, two_columns_mm=170, font_size=9)
    assert plotting.width("one") * 25.4 == pytest.approx(80)
    fig, ax = plotting.new_figure("two", 2.0)
    assert matplotlib.rcParams["font.size"] == 9 and matplotlib.rcParams["xtick.labelsize"] == 8
    plotting.finish(fig, False)
    io.save_figure(fig, tmp_path / "f", formats=["pdf"])
    assert abs(pdf_width_mm(tmp_path / "f.pdf") - 170) <= 0.3


def test_saved_files_are_byte_identical_between_saves(tmp_path):
    plotting.configure(formats=["svg", "pdf", "png", "tiff", "eps"], dpi=300)
    digests = []
    for k in range(2):
        fig, ax = plotting.new_figure("one", 2.0)
        ax.plot([0, 1], [0, 1], label="line")
        ax.legend(loc="lower right")
        plotting.finish(fig, True)
        written = io.save_figure(fig, tmp_path / f"r{k}" / "f")
        digests.append([p.read_bytes() for p in written])
        plt.close(fig)
    assert digests[0] == digests[1]


@pytest.mark.parametrize("settings,expected", [
    (dict(formats=["gif"]), "figure format"),
    (dict(formats=[]), "figure format"),
    (dict(dpi=50), "dpi is 50"),
    (dict(font_size=6), "base font size is 6 pt"),
    (dict(one_column_mm=200, two_columns_mm=175), "column widths"),
])
def test_bad_settings_name_the_problem(settings, expected):
    with pytest.raises(ConfigError, match=expected):
        plotting.configure(**settings)


# --- the paper's figures -------------------------------------------------------------------------


def test_registry_numbers_the_figures_in_the_study_order():
    stems = [f.stem for f in figures.FIGURES]
    assert len(stems) == len(set(stems))
    main = [f for f in figures.FIGURES if f.number]
    assert [f.number for f in main] == list(range(1, len(main) + 1))
    order = [figures.SECTIONS.index(f.section) for f in figures.FIGURES]
    assert order == sorted(order)
    assert all(f.title and f.title[0].isupper() for f in figures.FIGURES)


def fake_figures(folder, fmt="pdf", skip=()):
    folder.mkdir(parents=True, exist_ok=True)
    for f in figures.FIGURES:
        if f.stem not in skip:
            (folder / f"{f.stem}.{fmt}").write_bytes(f"%{f.stem}".encode())
            (folder / f"{f.stem}.txt").write_text(f"Caption of {f.stem}.\n")


def test_figure_pack_numbers_the_files_and_writes_the_captions(tmp_path):
    fake_figures(tmp_path / "figs", "tiff", skip=("power",))
    out = tmp_path / "pack"
    (out).mkdir()
    (out / "Figure_99.tiff").write_bytes(b"stale")
    written = figures.write_pack(tmp_path / "figs", out, "tiff")
    main = [f for f in figures.FIGURES if f.main]
    first = main[0]
    assert (out / "Figure_1.tiff").read_bytes() == f"%{first.stem}".encode()
    assert not (out / "Figure_99.tiff").exists()
    names = sorted(p.name for p in out.iterdir())
    n_supp = len(figures.FIGURES) - len(main) - 1  # power left out
    assert names == sorted([f"Figure_{k}.tiff" for k in range(1, len(main) + 1)]
                           + [f"Figure_S{k}.tiff" for k in range(1, n_supp + 1)] + ["captions.txt"])
    captions = (out / "captions.txt").read_text()
    assert captions.startswith(f"Figure 1. {first.title}.\nCaption of {first.stem}.\n")
    assert captions.index("Figure 2.") < captions.index("Figure S1.")
    assert "Not in this pack (not produced by this run): power." in captions
    assert written[-1] == out / "captions.txt"


def test_figure_pack_names_a_missing_main_figure(tmp_path):
    stem = next(f.stem for f in figures.FIGURES if f.main)
    fake_figures(tmp_path / "figs", "pdf", skip=(stem,))
    from integrating.errors import AnalysisError

    with pytest.raises(AnalysisError, match=rf"{stem}\.pdf not found"):
        figures.write_pack(tmp_path / "figs", tmp_path / "pack", "pdf")


def test_figure_pack_command(tmp_path, capsys):
    from integrating import cli

    fake_figures(tmp_path / "figs", "eps")
    code = cli.main(["figure-pack", "--figures-dir", str(tmp_path / "figs"), "--out", str(tmp_path / "p"),
                     "--format", "eps"])
    assert code == 0 and (tmp_path / "p" / "Figure_1.eps").is_file()
    assert f"{len(figures.FIGURES)} figures (eps)" in capsys.readouterr().out
    assert cli.main(["figure-pack", "--figures-dir", str(tmp_path / "none"), "--out", str(tmp_path / "q"),
                     "--format", "pdf"]) == 2
    assert "not found" in capsys.readouterr().err


def test_finish_warns_of_each_layout_problem():
    fig, ax = plotting.new_figure("one", 2.0)
    ax.bar([0, 1], [1, 2], label="bars")
    ax.legend(loc="center")
    with pytest.warns(plotting.LayoutWarning, match="legend \\['bars'\\] lies on the bar"):
        plotting.finish(fig, True)


def test_coding_reliability_names_codes_by_their_codebook_labels(tables, study):
    fig = figure_makers(tables, study)["coding_reliability"]()
    ax = fig.axes[0]
    shown = [t.get_text() for t in ax.get_yticklabels()]
    per_code = tables["agreement"].query("code != 'overall'")
    assert sorted(shown) == sorted(tables["labels"][c] for c in per_code["code"])
    assert not set(shown) & set(study.codebook["code"]) - set(study.codebook["label"])
    # bars in kappa order, each the code's kappa
    kappa = dict(zip(per_code["code"].map(tables["labels"]), per_code["cohen_kappa"]))
    bars = [p for p in ax.patches if p.get_height() > 0][:len(shown)]
    assert [round(b.get_width(), 9) for b in bars] == [round(kappa[s], 9) for s in shown]


def test_heatmap_writes_each_cell_of_the_table(tables):
    rates, codes = tables["rates"], tables["codes"]
    data = mechanisms.heatmap_data(rates, codes, tables["labels"])
    fig, ax = plotting.new_figure("one", 3.0)
    mechanisms.heatmap_plot(data, ax, value_label="per 10")
    cells = [t.get_text() for t in ax.texts if t.get_gid() == plotting.ON_DATA]
    by_hand = rates.assign(_g=rates["group"].map({"more": 0, "less": 1})).sort_values(
        ["_g", "implementation_share", "clinic_id"], ascending=[True, False, True])
    assert cells == [f"{v:.1f}" for v in by_hand[list(codes)].to_numpy().ravel()]


def test_one_theme_for_every_figure():
    plotting.use_style(font_size=9)
    rc = matplotlib.rcParams
    assert rc["font.family"] == ["DejaVu Sans"] and rc["svg.hashsalt"] == "integrating"
    assert rc["axes.prop_cycle"].by_key()["color"] == [c.lower() for c in plotting.OKABE_ITO] or \
        rc["axes.prop_cycle"].by_key()["color"] == plotting.OKABE_ITO
    assert (rc["font.size"], rc["xtick.labelsize"], rc["legend.fontsize"]) == (9, 8, 8)
    assert rc["savefig.dpi"] == 600 and not rc["axes.spines.top"]


def test_power_figure_is_clear_at_two_columns(tmp_path):
    from integrating import power

    tiny = {"power_clinics": [6, 10, 16], "power_share_more": 0.5625, "power_respondents": [20, 50],
            "power_icc": [0.05, 0.1], "power_wave_correlation": 0.5, "power_sd": 0.6, "power_differences": [0.0, 0.3],
            "power_alpha": 0.05, "power_target": 0.8, "power_replicates": 100, "power_replicates_per_shard": 100,
            "seed": 99}
    for s in power.shards(tiny):
        power.run_shard(s.spec(), tmp_path / f"{s.name}.csv", tmp_path / "logs" / f"{s.name}.json")
    table = power.merge(tiny, power.read_shards(tiny, tmp_path))
    fig, _ = plotting.new_figure("two", 2.6, nrows=0)
    power_figure.power_plot(power_figure.curve_data(table), power_figure.needed_data(table, target=0.8), table, fig)
    plotting.finish(fig, False)
    assert overlap.figure_problems(fig) == []
    assert round(fig.get_figwidth() * 25.4, 6) == 175
