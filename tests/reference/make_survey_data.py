"""Write the response-level survey data that tests/reference/mixed_model.R fits (run from the repository root).

    .venv/bin/python tests/reference/make_survey_data.py

Data sets: the bundled study (data/raw) and two synthetic studies of 12 clinics written by
``integrating synth --seed 4 --clinics 12`` and ``--seed 6`` (seed 4: statsmodels' L-BFGS stops at a
worse REML optimum of the clinic x wave model; seed 6: the clinic x wave variance is estimated at zero).
Groups come from the default segmentation (share rule, cut-off 0.5).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from integrating import contract, segmentation, survey, synth

HERE = Path(__file__).parent
SYNTHETIC = {"synth4": 4, "synth6": 6}


def survey_data(folder):
    study = contract.load(folder)
    groups = segmentation.clinic_segments(study.clinics, study.implementation_log)
    scored = survey.composite_scores(study.survey_responses, study.survey_items)
    table = survey.clinic_change(scored, groups).table
    labels = table.set_index("clinic_id")["group"]
    keep = scored["included"] & scored["clinic_id"].isin(labels.index)
    data = scored.loc[keep, ["response_id", "clinic_id", "wave", "composite"]].copy()
    data["group"] = data["clinic_id"].map(labels)
    return data[["response_id", "clinic_id", "wave", "group", "composite"]]


def main() -> None:
    survey_data("data/raw").to_csv(HERE / "survey_bundled.csv", index=False, float_format="%.17g")
    for name, seed in SYNTHETIC.items():
        with tempfile.TemporaryDirectory() as tmp:
            synth.write(synth.generate(seed=seed, clinics=12), tmp)
            survey_data(tmp).to_csv(HERE / f"survey_{name}.csv", index=False, float_format="%.17g")


if __name__ == "__main__":
    main()
