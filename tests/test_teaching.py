"""The teaching course: the package module behind the self-checks, the exercise notebooks (each run
unsolved, wrongly solved and solved) and the student and teacher packs."""

from __future__ import annotations

import ast
import copy
import re

import nbformat
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from integrating import cli, contract, paths, segmentation, survey, teaching, teaching_packs
from integrating.errors import IntegratingError

TEACHING = paths.NOTEBOOKS / "teaching"
EXERCISES = sorted(TEACHING.glob("*.ipynb"))
NAMES = [p.stem for p in EXERCISES]


def tagged(nb, tag):
    cells = [c for c in nb.cells if tag in c.metadata.get("tags", [])]
    assert len(cells) == 1, f"expected one cell tagged {tag!r}"
    return cells[0]


@pytest.fixture(scope="module")
def study():
    return contract.load(paths.RAW)


@pytest.fixture(scope="module")
def key():
    return teaching.answer_key()


# --- the notebooks as committed -------------------------------------------------------------------


def test_the_course_lists_every_exercise_once_with_its_solution():
    assert 5 <= len(EXERCISES) <= 6
    assert sorted(e.name for e in teaching.EXERCISES) == NAMES
    assert {e.session for e in teaching.EXERCISES} == {1, 2}
    for path in EXERCISES:
        assert (TEACHING / "solutions" / path.name).exists(), path.name


@pytest.mark.parametrize("name", NAMES)
def test_each_exercise_states_objectives_prerequisites_time_reading_and_a_written_prompt(name):
    nb = nbformat.read(TEACHING / f"{name}.ipynb", as_version=4)
    head = nb.cells[0].source
    exercise = next(e for e in teaching.EXERCISES if e.name == name)
    assert head.startswith(f"# Exercise {int(name[:2])} · {exercise.title}")
    assert f"about {exercise.minutes} minutes" in head and "prerequisites" in head
    assert "**After this exercise you can**" in head and "\n## Reading\n" in head
    task = next(c.source for c in nb.cells if c.cell_type == "markdown" and c.source.startswith("## Task"))
    assert "**In writing**" in task
    assert "answer_written = None" in tagged(nb, "answer").source


@pytest.mark.parametrize("name", NAMES)
def test_solution_is_the_exercise_with_the_answer_filled_in(name):
    exercise = nbformat.read(TEACHING / f"{name}.ipynb", as_version=4)
    solution = nbformat.read(TEACHING / "solutions" / f"{name}.ipynb", as_version=4)
    nbformat.validate(exercise)
    for nb in (exercise, solution):
        assert nb.metadata["kernelspec"]["name"] == "integrating"
        assert nb.metadata["kernelspec"]["display_name"] == "Python (integrating)"
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None
    assert len(solution.cells) == len(exercise.cells) + 1
    for ex, so in zip(exercise.cells, solution.cells):
        if "answer" in ex.metadata.get("tags", []):
            assert "answer" in so.metadata.get("tags", [])
            continue
        assert (ex.cell_type, ex.source) == (so.cell_type, so.source)
    assert solution.cells[-1].cell_type == "markdown" and solution.cells[-1].source.startswith("## Why")
    answer = tagged(exercise, "answer").source
    assert all(line.split("=")[1].split("#")[0].strip() == "None" for line in answer.splitlines() if "=" in line)
    tagged(exercise, "parameters"), tagged(exercise, "self-check")
    # the self-check calls the package; it computes nothing in sight of the student
    check = tagged(exercise, "self-check").source
    assert check.startswith("teaching.check_") and check.count("(") == 1


@pytest.mark.parametrize("path", sorted(TEACHING.rglob("*.ipynb")), ids=lambda p: p.relative_to(TEACHING).as_posix())
def test_no_teaching_notebook_defines_a_function(path):
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            tree = ast.parse(cell.source)
            defined = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                                   ast.ClassDef, ast.Lambda))]
            assert not defined, f"{path.name}: a code cell defines {type(defined[0]).__name__}"


# --- marking --------------------------------------------------------------------------------------


def test_exact_answers_compare_by_fingerprint_of_their_normalised_form():
    assert teaching.fingerprint(6) == teaching.fingerprint(6.0) == teaching.fingerprint(np.int64(6))
    assert teaching.fingerprint(True) != teaching.fingerprint(1)
    assert teaching.fingerprint("Strongly  distinguishing") == teaching.fingerprint("strongly distinguishing")
    assert teaching.fingerprint("welch_t") == teaching.fingerprint("Welch t")
    assert teaching.fingerprint(6) != teaching.fingerprint(7) and teaching.fingerprint("6") != teaching.fingerprint(6)
    q = teaching.Question("n", 6, 6)
    assert q.mark() is True and teaching.Question("n", 7, 6).mark() is False
    assert teaching.Question("n", None, 6).mark() is None
    assert teaching.Question("b", 1, True).mark() is False


def test_numbers_compare_within_a_range_inclusive():
    assert teaching.Question("p", 0.005, 0.00542, tolerance=0.0006).mark() is True
    assert teaching.Question("p", 0.0061, 0.00542, tolerance=0.0006).mark() is False
    assert teaching.Question("p", 0.25 + 0.5, 0.75, tolerance=0.0).mark() is True
    for bad in (True, "0.005", float("nan"), [0.005]):
        assert teaching.Question("p", bad, 0.00542, tolerance=0.0006).mark() is False


def test_a_question_keeps_no_expected_value():
    q = teaching.Question("secret", 1, "a hidden verdict")
    assert q.expected is None and "hidden" not in repr(q)
    r = teaching.Question("secret", 1, 0.123456, tolerance=0.1)
    assert r.expected is None and "0.123456" not in repr(r)


def test_report_names_what_is_not_right_and_never_prints_an_expected_value(capsys):
    results = teaching.report([
        teaching.Question("first part", 3, 4),
        teaching.Question("second part", "zebra", "okapi-99"),
        teaching.Question("third part", 0.5, 0.987654, tolerance=0.01),
        teaching.Question("fourth part", None, 1),
        teaching.interpretation("too short"),
    ])
    out = capsys.readouterr().out
    assert results == [False, False, False, None, False]
    for label in ("first part", "second part", "third part", "written interpretation"):
        assert f"NOT YET: {label}" in out
    assert "... fourth part: not answered yet" in out
    assert "Not right yet: first part; second part; third part; written interpretation; 1 not answered yet" in out
    for value in ("4", "okapi", "0.98", "0.987654"):
        assert not re.search(rf"(?<![\w.]){re.escape(value)}", out), value


def test_report_verdicts(capsys):
    teaching.report([teaching.Question("a", None, 1), teaching.interpretation(None)])
    assert "Not answered yet: fill in every answer" in capsys.readouterr().out
    teaching.report([teaching.Question("a", 1, 1), teaching.interpretation("one two three four five six seven eight")])
    out = capsys.readouterr().out
    assert "All right!" in out and "RIGHT: a" in out and "NOTED: written interpretation" in out
    assert teaching.interpretation(["a list", "of words"] * 8).mark() is False


def test_data_folder_falls_back_to_the_compendium_root(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert teaching.data_folder("data/raw") == paths.ROOT / "data" / "raw"
    (tmp_path / "data" / "raw").mkdir(parents=True)
    assert teaching.data_folder("data/raw").resolve() == (tmp_path / "data" / "raw").resolve()
    assert teaching.data_folder(tmp_path) == tmp_path


# --- the expected answers, checked independently --------------------------------------------------


def test_threshold_answers_follow_the_shares_and_scipy(study):
    base = segmentation.clinic_segments(study.clinics, study.implementation_log, months=study.info.months,
                                        threshold=0.5)
    shares = base.set_index("clinic_id")["implementation_share"]
    e = teaching._threshold_expected(study, 0.65, 0.5, 0.05)
    assert e["n_more"] == int((shares >= 0.65).sum())
    scored = survey.composite_scores(study.survey_responses, study.survey_items)
    means = scored[scored["included"]].groupby(["clinic_id", "wave"])["composite"].mean().unstack()
    change = means["post"] - means["pre"]
    more = change[shares.reindex(change.index) >= 0.65]
    less = change[shares.reindex(change.index) < 0.65]
    t = stats.ttest_ind(more, less)
    assert e["computable"] is True
    assert e["positive"] == bool(more.mean() > less.mean()) and e["significant"] == bool(t.pvalue < 0.05)
    impossible = teaching._threshold_expected(study, 0.9, 0.5, 0.05)
    assert impossible == {"n_more": int((shares >= 0.9).sum()), "computable": False,
                          "positive": teaching.NOT_COMPUTABLE, "significant": teaching.NOT_COMPUTABLE}


def test_coding_excerpts_are_deterministic_sentences_of_double_coded_documents(study):
    excerpts = teaching.coding_excerpts(study, 6, 2014)
    assert excerpts.equals(teaching.coding_excerpts(study, 6, 2014))
    assert list(excerpts["excerpt_id"]) == [f"E{i}" for i in range(1, 7)]
    coders = study.coded_segments.groupby("document_id")["coder"].nunique()
    for row in excerpts.itertuples():
        assert study.text(row.document_id)[row.start:row.end] == row.text and row.text.endswith((".", "?", "!"))
        assert coders[row.document_id] == 2
    reference, second = teaching.coders(study)
    assert (reference, second) == ("coder_a", "coder_b")
    codings = teaching.reference_codings(study, excerpts)
    coded = sum(bool(v) for v in codings[reference].values())
    assert coded == 3 and codings[reference] != codings[second]
    with pytest.raises(teaching.TeachingError, match="n_excerpts"):
        teaching.coding_excerpts(study, 1)


def test_compare_codings_matches_a_hand_computed_kappa(study):
    excerpts = teaching.coding_excerpts(study, 6, 2014)
    codes = study.mechanism_codes
    a = {"E1": [], "E2": ["sensemaking"], "E3": [], "E4": ["negotiating"], "E5": ["bridging_communication"], "E6": []}
    b = {"E1": [], "E2": ["sensemaking", "negotiating"], "E3": [], "E4": [], "E5": "bridging_communication",
         "E6": ["engaging_groups"]}
    out = teaching.compare_codings(study, excerpts, {"a": a, "b": b})
    x = np.array([int(c in a[k]) for k in a for c in codes])
    y = np.array([int(c in ([b[k]] if isinstance(b[k], str) else b[k])) for k in a for c in codes])
    po = float((x == y).mean())
    pe = x.mean() * y.mean() + (1 - x.mean()) * (1 - y.mean())
    row = out.agreement.iloc[0]
    assert row["n_units"] == 24
    assert row["percent_agreement"] == pytest.approx(100 * po)
    assert row["cohen_kappa"] == pytest.approx((po - pe) / (1 - pe))
    assert set(map(tuple, out.disagreements[["excerpt_id", "code"]].to_numpy())) == {
        ("E2", "negotiating"), ("E4", "negotiating"), ("E6", "engaging_groups")}


def test_a_coder_who_codes_nothing_agrees_often_with_kappa_zero(study):
    excerpts = teaching.coding_excerpts(study, 6, 2014)
    e = teaching._coding_expected(study, excerpts)
    reference = teaching.reference_codings(study, excerpts)["coder_a"]
    applied = sum(len(v) for v in reference.values())
    assert e["empty_agreement"] == pytest.approx(100 * (1 - applied / (6 * 4)))
    assert e["empty_kappa"] == pytest.approx(0.0)


def test_coding_problems_name_the_excerpt_and_the_code(study):
    excerpts = teaching.coding_excerpts(study, 6, 2014)
    assert teaching.coding_problems(study, excerpts, ["E1"]) == ["expected a dict {excerpt_id: [codes]}, got list"]
    coding = {f"E{i}": [] for i in range(1, 6)} | {"E3": ["negociating"], "E9": []}
    problems = teaching.coding_problems(study, excerpts, coding)
    assert "'E9' is not an excerpt (expected one of E1, E2, E3, E4, E5, E6)" in problems
    assert "E6 has no entry (use [] for no code)" in problems
    assert "E3: 'negociating' is not a mechanism code of the codebook" in problems
    with pytest.raises(teaching.TeachingError, match="coding 'you': 'E9' is not an excerpt"):
        teaching.compare_codings(study, excerpts, {"you": coding})


def test_matrix_answers_count_documents_directly(study):
    e = teaching._matrix_expected(study, 0.5, "engaging_groups", "C02")
    docs = study.documents.loc[study.documents["clinic_id"].eq("C02"), "document_id"]
    seg = study.coded_segments
    assert e["documents"] == seg.loc[seg["document_id"].isin(docs) & seg["code"].eq("engaging_groups"),
                                     "document_id"].nunique()
    recoded = teaching.remove_clinic_code(study, seg, "C02", "engaging_groups")
    removed = seg.merge(recoded, how="left", indicator=True).query("_merge == 'left_only'")
    assert set(removed["code"]) == {"engaging_groups"} and set(removed["document_id"]) <= set(docs)
    assert len(recoded) == len(seg) - len(removed)
    assert 0 < e["p_after"] < 0.05 and e["verdict_after"] == e["verdict_before"] == "strongly distinguishing"
    with pytest.raises(teaching.TeachingError, match="recoded_clinic is 'C99'"):
        teaching.remove_clinic_code(study, seg, "C99", "engaging_groups")
    with pytest.raises(teaching.TeachingError, match="code is 'lack_of_time'; expected a mechanism code"):
        teaching._matrix_expected(study, 0.5, "lack_of_time", "C02")


def test_survey_answers_follow_scipy_and_the_responses(study):
    e = teaching._survey_expected(study, 0.5, 0.5, 0.05)
    scored = survey.composite_scores(study.survey_responses, study.survey_items)
    assert e["n_responses"] == int(scored["included"].sum())
    segments = segmentation.clinic_segments(study.clinics, study.implementation_log, months=study.info.months,
                                            threshold=0.5)
    table = survey.clinic_change(scored, segments).table
    x, y = (table.loc[table["group"].eq(g), "change"].to_numpy() for g in ("more", "less"))
    vx, vy = x.var(ddof=1) / len(x), y.var(ddof=1) / len(y)
    assert e["welch_df"] == pytest.approx((vx + vy) ** 2 / (vx ** 2 / (len(x) - 1) + vy ** 2 / (len(y) - 1)))
    assert e["smallest_p"] in teaching.FOUR_TESTS


def test_answer_key_has_every_question_of_every_exercise(key):
    assert sorted(key["exercise"].unique()) == NAMES
    assert len(key) == 18 and key["expected"].notna().all()


# --- packs ----------------------------------------------------------------------------------------


def numeric_values(key) -> list:
    return [v for v in key["expected"]
            if isinstance(v, (int, float, np.number)) and not isinstance(v, (bool, np.bool_))]


def number_forms(value) -> list[str]:
    """How a solution number could be written: as an integer, or a float to 1-4 decimals."""
    value = float(value)
    if value.is_integer():
        return [str(int(value))]
    return sorted({f"{value:.{d}f}" for d in range(1, 5)} | {repr(value)})


def standalone(text: str, form: str) -> bool:
    return re.search(rf"(?<![\w.]){re.escape(form)}(?!\.?\d)", text) is not None


def test_student_pack_holds_exercises_and_data_and_no_solution_value(tmp_path, key):
    written = teaching_packs.write_packs(tmp_path / "packs", student_only=True)
    student = written["student"]
    assert set(written) == {"student"} and not (tmp_path / "packs" / "teacher").exists()
    assert sorted(p.stem for p in student.glob("*.ipynb")) == NAMES
    assert (student / "data" / "raw" / "datapackage.json").exists() and (student / "README.md").exists()
    text_files = [p for p in student.rglob("*") if p.is_file() and "data" not in p.relative_to(student).parts]
    assert not [p for p in student.rglob("*") if "solution" in p.name.lower() or p.name == "answer_key.csv"]
    whys = [nbformat.read(TEACHING / "solutions" / f"{n}.ipynb", as_version=4).cells[-1].source for n in NAMES]
    solved = [tagged(nbformat.read(TEACHING / "solutions" / f"{n}.ipynb", as_version=4), "answer").source
              for n in NAMES]
    for path in text_files:
        text = path.read_text(encoding="utf-8")
        assert not any(why[:200] in text for why in whys), path
        assert not any(line.strip() in text for s in solved for line in s.splitlines()
                       if re.match(r"\s*(answer_\w+|my_coding|recoded_segments)\s*=", line))
        if path.suffix == ".ipynb":
            nb = nbformat.read(path, as_version=4)
            answer = tagged(nb, "answer").source
            assert all(line.split("=")[1].split("#")[0].strip() == "None"
                       for line in answer.splitlines() if "=" in line)
            assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
            sources = "\n".join(c.source for c in nb.cells)
            own = key[key["exercise"].eq(path.stem)]
            for value in numeric_values(own):
                if value in (0, 1):  # the ends of kappa's scale and of shares: named in every reading
                    continue
                for form in number_forms(value):
                    assert not standalone(sources, form), f"{path.name} shows {form}, a solution value"


def test_teacher_pack_has_solutions_guide_and_answer_key(tmp_path, key):
    written = teaching_packs.write_packs(tmp_path / "packs", execute=False)
    teacher = written["teacher"]
    assert sorted(p.stem for p in (teacher / "solutions").glob("*.ipynb")) == NAMES
    assert (teacher / "guide.md").read_text(encoding="utf-8") == teaching_packs.GUIDE.read_text(encoding="utf-8")
    saved = pd.read_csv(teacher / "answer_key.csv")
    assert list(saved["question"]) == list(key["question"])
    assert "| 1 | `04_coding_practice.ipynb` |" in (teacher / "README.md").read_text(encoding="utf-8")
    # a second run replaces a former pack; a folder that is not one is refused, and so is a file
    (teacher / "stale.txt").write_text("x")
    teaching_packs.write_packs(tmp_path / "packs", execute=False)
    assert not (teacher / "stale.txt").exists()
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep")
    with pytest.raises(teaching.TeachingError, match="not teaching packs"):
        teaching_packs.write_packs(other)
    assert (other / "notes.txt").read_text() == "keep"
    with pytest.raises(teaching.TeachingError, match="is a file"):
        teaching_packs.write_packs(other / "notes.txt")
    assert isinstance(teaching.TeachingError("x"), IntegratingError)


def test_packs_of_other_data_carry_those_data_and_their_answer_key(tmp_path, small_raw):
    written = teaching_packs.write_packs(tmp_path / "p", raw_dir=small_raw, execute=False)
    copied = written["student"] / "data" / "raw"
    assert (copied / "clinics.csv").read_bytes() == (small_raw / "clinics.csv").read_bytes()
    key = pd.read_csv(written["teacher"] / "answer_key.csv")
    fresh = teaching.answer_key(small_raw)
    assert list(key["question"]) == list(fresh["question"]) and len(key) == 18
    n_more = fresh.loc[fresh["question"].eq("n_more"), "expected"].iloc[0]
    assert key.loc[key["question"].eq("n_more"), "expected"].iloc[0] == str(n_more)


def test_packs_are_byte_identical_between_runs_and_a_failed_run_keeps_the_former_ones(tmp_path, monkeypatch):
    def snapshot(folder):
        return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}

    teaching_packs.write_packs(tmp_path / "a", execute=False)
    teaching_packs.write_packs(tmp_path / "b", execute=False)
    first = snapshot(tmp_path / "a")
    assert first == snapshot(tmp_path / "b")

    def broken(*args, **kwargs):
        raise teaching.TeachingError("broken on purpose")

    monkeypatch.setattr(teaching_packs, "answer_key", broken)
    with pytest.raises(teaching.TeachingError, match="broken on purpose"):
        teaching_packs.write_packs(tmp_path / "a", execute=False)
    assert snapshot(tmp_path / "a") == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]  # no temporary folder left behind


def test_cli_user_mistakes_give_one_line_and_no_traceback(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("keep")
    assert cli.main(["teaching-packs", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err
    assert cli.main(["teaching-packs", "--out", str(tmp_path / "p"), "--raw-dir", str(tmp_path)]) == 2
    assert "holds no datapackage.json" in capsys.readouterr().err
    broken = tmp_path / "raw"
    broken.mkdir()
    (broken / "datapackage.json").write_text("{}")
    assert cli.main(["teaching-packs", "--out", str(tmp_path / "p"), "--raw-dir", str(broken)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "problem(s) with the data contract" in err


# --- the exercises executed -----------------------------------------------------------------------

#: A wrong answer cell per exercise and the questions the self-check must then call NOT YET.
WRONG = {
    "01_segmentation_threshold": ('answer_n_more = 9\nanswer_computable = True\nanswer_positive = True\n'
                                  'answer_significant = "not computable"\nanswer_written = "too short"\n',
                                  ["clinics in 'more' at cut-off 0.65", "still p < 0.05 (or 'not computable')",
                                   "written interpretation"]),
    "02_recode_mechanism": ("recoded_segments = study.coded_segments.head(5)\nanswer_verdict = 'not distinguishing'\n"
                            "answer_written = None\n", ["recoded segments", "verdict of sensemaking after the merge"]),
    "03_design_power": ("answer_clinics_100 = 16\nanswer_clinics_400 = 16\nanswer_eight_enough = None\n"
                        "answer_written = None\n",
                        ["clinics needed, 100 respondents (analytic)", "clinics needed, 400 respondents (analytic)"]),
    "04_coding_practice": ('my_coding = {"E1": ["negociating"]}\npartner_coding = None\nanswer_empty_agreement = 50\n'
                           'answer_empty_kappa = 0.0\nanswer_written = None\n',
                           ["your coding (every excerpt, codebook codes only)",
                            "percent agreement of a coder who applies no code"]),
    "05_case_ordered_matrix": ("answer_documents = 27\nanswer_verdict_before = 'strongly distinguishing'\n"
                               "answer_verdict_after = 'weakly distinguishing'\nanswer_p_after = 0.05\n"
                               "answer_written = None\n",
                               ["documents of C02 coded engaging_groups", "verdict after recoding C02",
                                "p after recoding (3 decimals)"]),
    "06_survey_critically": ("answer_welch_df = 14\nanswer_n_responses = 16\nanswer_smallest_p = 'student_t'\n"
                             "answer_all_significant = True\nanswer_written = None\n",
                             ["degrees of freedom of the Welch t-test (1 decimal)", "responses in the mixed model",
                              "analysis with the smallest p"]),
}


def outputs_text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            parts.append(out["text"])
        elif out.get("output_type") == "error":
            parts.append(f"{out['ename']}: {out['evalue']}")
    return "".join(parts)


def run_three_ways(name, tmp_path, parameters):
    """One kernel: the exercise as a student finds it, then a wrong answer cell and the self-check,
    then the solution's answer cell and the self-check. Returns the three self-check outputs."""
    import papermill

    exercise = nbformat.read(TEACHING / f"{name}.ipynb", as_version=4)
    solution = nbformat.read(TEACHING / "solutions" / f"{name}.ipynb", as_version=4)
    combined = copy.deepcopy(exercise)
    wrong = nbformat.v4.new_code_cell(WRONG[name][0])
    for suffix, answer in (("wrong", wrong), ("solved", tagged(solution, "answer"))):
        answer = copy.deepcopy(answer)
        answer["id"], answer.metadata["tags"] = f"{suffix}-answer", ["answer"]
        check = copy.deepcopy(tagged(exercise, "self-check"))
        check["id"] = f"{suffix}-check"
        combined.cells += [answer, check]
    source = tmp_path / f"{name}.ipynb"
    nbformat.write(combined, source)
    out = papermill.execute_notebook(str(source), str(tmp_path / "out.ipynb"), parameters=parameters,
                                     kernel_name="integrating", cwd=str(tmp_path), progress_bar=False)
    assert not list(tmp_path.glob("data")), "an exercise must not write into its working folder"
    return [outputs_text(c) for c in out.cells if "self-check" in c.metadata.get("tags", [])]


@pytest.mark.notebook
@pytest.mark.parametrize("name", NAMES)
def test_exercise_unsolved_wrongly_solved_and_solved(name, tmp_path, bundled_raw, key):
    params = teaching.parameters_cell(TEACHING / f"{name}.ipynb")
    unsolved, wrong, solved = run_three_ways(name, tmp_path, {"raw_dir": str(bundled_raw)} if "raw_dir" in params
                                             else {})
    assert "Not answered yet" in unsolved and "RIGHT" not in unsolved and "NOT YET" not in unsolved, unsolved
    labels = WRONG[name][1]
    for label in labels:
        assert f"NOT YET: {label}" in wrong, wrong
    assert f"Not right yet: {'; '.join(labels)}" in wrong and "All right" not in wrong, wrong
    assert "All right!" in solved and "NOT YET" not in solved and "not answered yet" not in solved, solved
    for value in numeric_values(key[key["exercise"].eq(name)]):
        if value in (0, 1):
            continue
        for form in number_forms(value):
            assert not standalone(wrong.split("\nAgreement")[0], form), f"the self-check shows {form}"


@pytest.mark.notebook
def test_a_cut_off_without_a_computable_test_is_a_question_not_a_dead_end(tmp_path, bundled_raw):
    unsolved, wrong, solved = run_three_ways("01_segmentation_threshold", tmp_path,
                                             {"raw_dir": str(bundled_raw), "new_threshold": 0.9})
    assert "Not answered yet" in unsolved
    assert "NOT YET: can the Student t-test be computed" in wrong
    assert "All right!" in solved and "NOT YET" not in solved, solved
