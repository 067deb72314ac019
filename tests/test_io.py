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
