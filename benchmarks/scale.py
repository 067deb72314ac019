"""One scale measurement: validation and every analysis function of the package on one data folder.

Run by benchmarks/run.py in a fresh process per data size, so the peak RSS it prints is this
size's own. Prints one JSON line: total seconds, seconds per step, peak RSS in MB, table sizes.
"""

from __future__ import annotations

import json
import resource
import sys
import time

from integrating import config, contract, mechanisms, reliability, segmentation, survey, validate


def main(raw_dir: str) -> None:
    cfg = config.load()
    steps: dict[str, float] = {}
    start = time.perf_counter()

    def step(name, fn, *args, **kwargs):
        t = time.perf_counter()
        out = fn(*args, **kwargs)
        steps[name] = time.perf_counter() - t
        return out

    problems = step("validate", validate.validate, raw_dir)
    assert not problems, problems[:5]
    study = step("load", contract.load, raw_dir)
    segs = step("segmentation", segmentation.clinic_segments, study.clinics, study.implementation_log,
                months=study.info.months, rule=cfg["segmentation_rule"], threshold=cfg["implementation_threshold"],
                count_threshold=cfg["implemented_count_threshold"])
    codes = study.mechanism_codes
    _, rates = step("mechanism_matrix", mechanisms.mechanism_matrix, segs, study.documents, study.coded_segments, codes,
                    coders=cfg["mechanism_coders"])
    compare = dict(labels=None, p_strong=cfg["distinguishing_p_strong"], p_weak=cfg["distinguishing_p_weak"],
                   max_exact=cfg["permutation_max_exact"])
    step("mechanism_comparison", mechanisms.compare_groups, rates, codes, direction="more", **compare)
    step("stakeholder_connections", mechanisms.stakeholder_connections, segs, study.documents,
         study.coded_segments, codes, study.codes_of("stakeholder"))
    step("sensitivity", mechanisms.segmentation_sensitivity, segs, rates, codes, cfg["threshold_grid"], **compare)
    step("inventory", reliability.inventory_data, study.clinics, study.documents, study.coded_segments,
         study.survey_responses)
    step("reliability", reliability.reliability_table, study.coded_segments, study.codebook)
    scored = step("survey_composite", survey.composite_scores, study.survey_responses, study.survey_items,
                  min_answered=cfg["composite_min_answered"])
    change = step("survey_clinic_change", survey.clinic_change, scored, segs).table
    step("survey_group_change", survey.group_change, change, confidence=cfg["confidence_level"])
    step("survey_effects", survey.survey_effects, scored, change, confidence=cfg["confidence_level"],
         max_exact=cfg["permutation_max_exact"], draws=cfg["permutation_draws"], seed=cfg["seed"])
    try:
        from integrating import multiverse
    except ImportError:
        multiverse = None
    if multiverse is not None and hasattr(multiverse, "run_multiverse"):
        step("multiverse", multiverse.run_multiverse, study, cfg)

    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({
        "total_s": time.perf_counter() - start,
        "steps": steps,
        "peak_rss_mb": peak_kb / 1024,
        "rows": {"clinics": len(study.clinics), "documents": len(study.documents),
                 "coded_segments": len(study.coded_segments), "survey_responses": len(study.survey_responses)},
    }))


if __name__ == "__main__":
    main(sys.argv[1])
