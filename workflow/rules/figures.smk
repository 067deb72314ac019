# The figure pack for the manuscript (`make figures`): the paper's figures, numbered in the study's order
# (integrating.figures), in the format figure_pack_format, with captions.txt. Not part of `make run`.
PACK = "reports/figures_pack"


rule figure_pack:
    input:
        NOTEBOOK_OUTPUTS,
        code=command_code("figures", "config"),
    output:
        f"{PACK}/captions.txt",
    params:
        fmt=config["figure_pack_format"],
    shell:
        "{PYTHON} -m integrating.cli figure-pack --figures-dir {FIGURES} --out {PACK} --format {params.fmt}"
