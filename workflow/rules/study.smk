# One rule per notebook, in the order of the study.

rule validate:
    input:
        tables=raw_tables(),
        texts=raw_texts,
        code=package("validate", "cli"),
    output:
        f"{PROV}/00_validate.json",
    shell:
        "{PYTHON} -m integrating.cli validate {RAW} --stamp {output}"


rule data_inventory:
    input:
        notebook=NOTEBOOKS / "01_data_inventory.ipynb",
        code=package("reliability", "coders"),
        valid=rules.validate.output,
    output:
        f"{PROV}/01_data_inventory.json",
    log:
        f"{EXECUTED}/01_data_inventory.ipynb",
    params:
        nb=notebook_parameters("confidence_level", "reliability_bootstrap", "seed"),
    resources:
        notebook_cores=1,
    shell:
        RUN_NOTEBOOK


rule case_segmentation:
    # On the critical path (validate -> 02 -> 04 -> 03 -> site): scheduled first when cores are short.
    priority: 10
    input:
        notebook=NOTEBOOKS / "02_case_segmentation.ipynb",
        code=package("segmentation", "mechanisms", "coders", "stats", "survey"),
        valid=rules.validate.output,
    output:
        f"{PROV}/02_case_segmentation.json",
    log:
        f"{EXECUTED}/02_case_segmentation.ipynb",
    params:
        nb=notebook_parameters(
            "segmentation_rule", "implementation_threshold", "implemented_count_threshold",
            "threshold_grid", "distinguishing_p_strong", "distinguishing_p_weak",
            "mechanism_coders", "show_excerpts", "excerpts_per_mechanism",
            "permutation_max_exact",
        ),
    resources:
        notebook_cores=1,
    shell:
        RUN_NOTEBOOK


rule survey_effect:
    # On the critical path (validate -> 02 -> 04 -> 03 -> site): scheduled first when cores are short.
    priority: 10
    input:
        notebook=NOTEBOOKS / "04_survey_effect.ipynb",
        code=package("survey", "stats", "rounding"),
        valid=rules.validate.output,
        segments=rules.case_segmentation.output,
    output:
        f"{PROV}/04_survey_effect.json",
    log:
        f"{EXECUTED}/04_survey_effect.ipynb",
    params:
        nb=notebook_parameters(
            "composite_min_answered", "confidence_level", "permutation_max_exact",
            "permutation_draws", "seed",
        ),
    resources:
        notebook_cores=1,
    shell:
        RUN_NOTEBOOK


rule conceptual_model:
    # On the critical path (validate -> 02 -> 04 -> 03 -> site): scheduled first when cores are short.
    priority: 10
    input:
        notebook=NOTEBOOKS / "03_conceptual_model.ipynb",
        code=package("model"),
        model=config["model_file"],
        valid=rules.validate.output,
        segments=rules.case_segmentation.output,
        survey=rules.survey_effect.output,
    output:
        f"{PROV}/03_conceptual_model.json",
    log:
        f"{EXECUTED}/03_conceptual_model.ipynb",
    params:
        nb=notebook_parameters("model_file", "max_clinic_panels"),
    resources:
        notebook_cores=1,
    shell:
        RUN_NOTEBOOK


rule claims_check:
    input:
        notebook=NOTEBOOKS / "05_claims_check.ipynb",
        code=package("claims", "rounding"),
        claims=SRC / "claims.yaml",
        valid=rules.validate.output,
        inventory=rules.data_inventory.output,
        segments=rules.case_segmentation.output,
        survey=rules.survey_effect.output,
    output:
        f"{PROV}/05_claims_check.json",
    log:
        f"{EXECUTED}/05_claims_check.ipynb",
    params:
        nb=notebook_parameters("fail_on_claims"),
    resources:
        notebook_cores=1,
    shell:
        RUN_NOTEBOOK


rule robustness:
    input:
        notebook=NOTEBOOKS / "06_robustness.ipynb",
        code=package("multiverse", "segmentation", "stats", "survey"),
        valid=rules.validate.output,
    output:
        f"{PROV}/06_robustness.json",
    log:
        f"{EXECUTED}/06_robustness.ipynb",
    params:
        nb=notebook_parameters(
            "segmentation_rule", "implementation_threshold", "implemented_count_threshold",
            "threshold_grid", "composite_min_answered", "confidence_level", "seed",
            "multiverse_count_grid", "multiverse_min_answered_grid", "multiverse_max_loo_clinics",
            "multiverse_permutation_max_exact", "multiverse_permutation_draws",
        ),
    resources:
        notebook_cores=1,
    shell:
        RUN_NOTEBOOK


NOTEBOOK_OUTPUTS = [
    rules.data_inventory.output,
    rules.case_segmentation.output,
    rules.conceptual_model.output,
    rules.survey_effect.output,
    rules.claims_check.output,
    rules.robustness.output,
]


rule report_site:
    input:
        NOTEBOOK_OUTPUTS,
        code=package("report"),
        claims=SRC / "claims.yaml",
    output:
        "reports/index.html",
    params:
        excerpts="--show-excerpts" if config["show_excerpts"] else "--no-show-excerpts",
    shell:
        "{PYTHON} -m integrating.cli build-site --workdir . --raw-dir {RAW} {params.excerpts}"


ALL_OUTPUTS = NOTEBOOK_OUTPUTS + [rules.report_site.output]
