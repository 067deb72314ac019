import hashlib

import pytest

from integrating import contract, synth, validate


def _tree(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_generator_reproduces_the_bundled_data_byte_for_byte(tmp_path, bundled_raw):
    out = synth.write(synth.generate(), tmp_path / "raw")
    assert _tree(out) == _tree(bundled_raw)


@pytest.mark.parametrize("clinics", [16, 50])
def test_generated_studies_validate(tmp_path, clinics):
    out = synth.write(synth.generate(seed=5, clinics=clinics), tmp_path / "raw")
    assert validate.validate(out) == []
    study = contract.load(out)
    assert len(study.clinics) == clinics
    assert study.info.synthetic is True


@pytest.mark.slow
def test_a_study_100_times_larger_validates(tmp_path):
    out = synth.write(synth.generate(seed=5, clinics=1600), tmp_path / "raw")
    assert validate.validate(out) == []


def test_design_of_the_default_study():
    data = synth.generate()
    log = data["implementation_log"]
    latest = log.sort_values("month", kind="mergesort").groupby("change_id").tail(1)
    share = latest.assign(done=latest["status"].eq("implemented")).groupby("clinic_id")["done"].mean()
    assert (share >= 0.5).sum() == 9 and (share < 0.5).sum() == 7
    assert set(data["documents"]["source_type"]) == set(contract.SOURCE_TYPES)
    assert set(data["coded_segments"]["coder"]) == {"coder_a", "coder_b"}
    assert set(contract.MECHANISMS) <= set(data["codebook"]["code"])
    assert all(t.startswith("SYNTHETIC ") for t in data["texts"].values())


def test_coded_passages_describe_their_code():
    data = synth.generate()
    seg = data["coded_segments"].merge(data["documents"][["document_id", "text_path"]])
    first = seg[seg["code"] == "negotiating"].iloc[0]
    passage = data["texts"][first["text_path"]][first["start"]:first["end"]]
    assert any(passage == t.split("{")[0] or passage.startswith(t.split("{")[0])
               for t in synth.TEMPLATES["negotiating"])


def test_default_seed_is_the_calibrated_one():
    assert synth.calibrate(start=synth.CALIBRATION_START) == synth.DEFAULT_SEED
    assert synth.reproduces_published(synth.survey_summary(synth.generate()))


def test_another_seed_does_not_reproduce_by_construction():
    assert not synth.reproduces_published(synth.survey_summary(synth.generate(seed=1)))
