# One rule per notebook, in the order of the study.

rule validate:
    input:
        tables=raw_tables(),
        texts=raw_texts,
        code=command_code("validate", "provenance"),
    output:
        f"{PROV}/00_validate.json",
    shell:
        "{PYTHON} -m integrating.cli validate {RAW} --stamp {output}"


# Priorities order the notebooks when cores are short: the critical path (02 and 04, then 03) first,
# then 01 (short, and needed by 05), then the long 06 ahead of 05, which would only delay it.
rule data_inventory:
    priority: 6
    input:
        notebook=notebook("01_data_inventory"),
        code=notebook_code("01_data_inventory"),
        valid=rules.validate.output,
    output:
        f"{PROV}/01_data_inventory.json",
    log:
        f"{EXECUTED}/01_data_inventory.ipynb",
    params:
        nb=notebook_parameters("01_data_inventory"),
    resources:
        notebook_cores=1,
    shell:
        RUN_NOTEBOOK


rule case_segmentation:
    # On the critical path (validate -> 02 -> 03 -> site): scheduled first when cores are short.
    priority: 10
    input:
        notebook=notebook("02_case_segmentation"),
        code=notebook_code("02_case_segmentation"),
        valid=rules.validate.output,
    output:
        f"{PROV}/02_case_segmentation.json",
    log:
        f"{EXECUTED}/02_case_segmentation.ipynb",
    params:
        nb=notebook_parameters("02_case_segmentation"),
    resources:
        notebook_cores=1,
    shell:
        RUN_NOTEBOOK


rule survey_effect:
    # Forms the groups itself (as 02 does), so that it runs beside 02 rather than after it.
    priority: 10
    input:
        notebook=notebook("04_survey_effect"),
        code=notebook_code("04_survey_effect"),
        valid=rules.validate.output,
    output:
        f"{PROV}/04_survey_effect.json",
    log:
        f"{EXECUTED}/04_survey_effect.ipynb",
    params:
        nb=notebook_parameters("04_survey_effect"),
    resources:
        notebook_cores=1,
    shell:
        RUN_NOTEBOOK


rule conceptual_model:
    # On the critical path (validate -> 02 -> 03 -> site): scheduled first when cores are short.
    priority: 10
    input:
        notebook=notebook("03_conceptual_model"),
        code=notebook_code("03_conceptual_model"),
        model=config["model_file"],
        valid=rules.validate.output,
        segments=rules.case_segmentation.output,
        survey=rules.survey_effect.output,
    output:
        f"{PROV}/03_conceptual_model.json",
    log:
        f"{EXECUTED}/03_conceptual_model.ipynb",
    params:
        nb=notebook_parameters("03_conceptual_model"),
    resources:
        notebook_cores=1,
    shell:
        RUN_NOTEBOOK


rule claims_check:
    input:
        notebook=notebook("05_claims_check"),
        code=notebook_code("05_claims_check"),
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
        nb=notebook_parameters("05_claims_check"),
    resources:
        notebook_cores=1,
    shell:
        RUN_NOTEBOOK


rule robustness:
    priority: 5
    input:
        notebook=notebook("06_robustness"),
        code=notebook_code("06_robustness"),
        valid=rules.validate.output,
    output:
        f"{PROV}/06_robustness.json",
    log:
        f"{EXECUTED}/06_robustness.ipynb",
    params:
        nb=notebook_parameters("06_robustness"),
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
        code=command_code("report"),
        claims=SRC / "claims.yaml",
        style=SRC / "report.css",
        paper=paper_for_site,
    output:
        # The site's manifest lists the landing page and every page with its SHA-256.
        provenance.SITE_MANIFEST,
    params:
        excerpts="--show-excerpts" if config["show_excerpts"] else "--no-show-excerpts",
    shell:
        "{PYTHON} -m integrating.cli build-site --workdir . --raw-dir {RAW} {params.excerpts}"


ALL_OUTPUTS = NOTEBOOK_OUTPUTS + [rules.report_site.output]
