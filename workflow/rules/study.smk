# One rule per notebook, in the order of the study.

rule validate:
    input:
        tables=raw_tables(),
        texts=f"{RAW}/documents",
        code=package("validate", "cli"),
    output:
        f"{PROV}/00_validate.json",
    shell:
        "{PYTHON} -m integrating.cli validate {RAW} --stamp {output}"


rule data_inventory:
    input:
        notebook=NOTEBOOKS / "01_data_inventory.ipynb",
        code=package("reliability"),
        valid=rules.validate.output,
    output:
        f"{PROV}/01_data_inventory.json",
    log:
        f"{EXECUTED}/01_data_inventory.ipynb",
    params:
        nb=notebook_parameters(),
    shell:
        RUN_NOTEBOOK


ALL_OUTPUTS = [rules.data_inventory.output]
