import contextlib
import hashlib

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from integrating import io, plotting


def test_atomic_write_keeps_the_previous_file_on_failure(tmp_path):
    target = tmp_path / "t.csv"
    io.write_table(pd.DataFrame({"a": [1]}), target)
    before = target.read_bytes()
    with pytest.raises(RuntimeError):
        with io.atomic_path(target) as tmp:
            tmp.write_text("half a table")
            raise RuntimeError("crash while writing")
    assert target.read_bytes() == before
    assert list(tmp_path.iterdir()) == [target]  # no temporary file left behind


def test_tables_have_fixed_float_format_and_order(tmp_path):
    df = pd.DataFrame({"k": ["b", "a"], "x": [1 / 3, 2.0]})
    io.write_table(df, tmp_path / "t.csv", sort_by="k")
    assert (tmp_path / "t.csv").read_text() == "k,x\na,2\nb,0.3333333333\n"


def _digest(paths_):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths_}


def test_figures_are_byte_identical_across_saves(tmp_path):
    plotting.use_style()

    def draw(stem):
        fig, ax = plt.subplots(figsize=(2, 2))
        ax.plot([0, 1], [0, 1], label="line")
        ax.legend()
        written = io.save_figure(fig, stem, caption="caption")
        plt.close(fig)
        return written

    first = _digest(draw(tmp_path / "a" / "f"))
    second = _digest(draw(tmp_path / "b" / "f"))
    assert first == second
    assert set(first) == {"f.svg", "f.pdf", "f.png", "f.txt"}


def test_an_unchanged_figure_is_not_rendered_again_and_a_changed_or_edited_one_is(tmp_path, monkeypatch):
    plotting.use_style()
    stem = tmp_path / "f"
    rendered = []
    real = plt.Figure.savefig
    monkeypatch.setattr(plt.Figure, "savefig", lambda fig, fname, **kw: (rendered.append(kw["format"]),
                                                                         real(fig, fname, **kw))[1])

    def save(y):
        rendered.clear()
        fig, ax = plt.subplots(figsize=(2, 2))
        ax.plot([0, 1], [0, y])
        io.save_figure(fig, stem, formats=("svg", "pdf", "png"))
        plt.close(fig)
        return sorted(rendered), _digest(stem.with_suffix(f".{f}") for f in ("svg", "pdf", "png"))

    first_rendered, first = save(1)
    assert first_rendered == ["pdf", "png", "svg"]
    again_rendered, again = save(1)
    assert again_rendered == ["svg"] and again == first  # the SVG is drawn to compare; nothing else
    changed_rendered, changed = save(2)
    assert changed_rendered == ["pdf", "png", "svg"] and changed["f.png"] != first["f.png"]
    stem.with_suffix(".png").write_bytes(b"edited by hand")
    assert save(2)[0] == ["png", "svg"]
    assert save(2)[1] == changed
    stem.with_suffix(".pdf").unlink()
    assert save(2)[0] == ["pdf", "svg"]
    # A different resolution is a different PNG, though the SVG is the same.
    rendered.clear()
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [0, 2])
    io.save_figure(fig, stem, formats=("svg", "pdf", "png"), dpi=150)
    plt.close(fig)
    assert sorted(rendered) == ["pdf", "png", "svg"]


def test_kept_font_subsets_give_the_same_pdf_and_eps_and_a_damaged_one_is_made_again(tmp_path, monkeypatch):
    from matplotlib.backends import _backend_pdf_ps

    from integrating import font_subsets

    plotting.use_style()
    made = []
    real = _backend_pdf_ps.get_glyphs_subset
    monkeypatch.setattr(_backend_pdf_ps, "get_glyphs_subset", lambda *a: (made.append(a[1]), real(*a))[1])

    def save(name):
        made.clear()
        fig, ax = plt.subplots(figsize=(2, 2))
        ax.set_title("Kept subsets: 0.123")
        ax.plot([0, 1], [0, 1])
        io.save_figure(fig, tmp_path / name, formats=("pdf", "eps"))
        plt.close(fig)
        return _digest(tmp_path / f"{name}.{f}" for f in ("pdf", "eps")), list(made)

    first, made_first = save("a")
    kept = sorted((tmp_path / font_subsets.FOLDER).iterdir())
    assert made_first and len(kept) == len(set(made_first))  # one subset per font and set of characters
    second, made_second = save("b")
    assert made_second == [] and second == {k.replace("a.", "b."): v for k, v in first.items()}
    kept[0].write_bytes(kept[0].read_bytes()[:100])  # damaged
    third, made_third = save("c")
    assert len(made_third) == 1 and third == {k.replace("a.", "c."): v for k, v in first.items()}
    # and the same bytes as matplotlib writes without kept subsets
    monkeypatch.setattr(font_subsets, "kept", lambda folder: contextlib.nullcontext())
    assert save("d")[0] == {k.replace("a.", "d."): v for k, v in first.items()}
