# The study's named values (data/derived/values.csv, part of every run) and the manuscript built
# from them (`make paper`: paper/manuscript.docx, .pdf, .html and Tables 1-3 as CSV).
# Included before study.smk, so the report site can link the manuscript; paths are spelled out.

VALUES = f"{DERIVED}/values.csv"
PAPER_DIR = "paper"
PAPER_TEMPLATES = sorted(str(p) for p in (SRC / "manuscript").glob("*") if p.is_file())
PAPER_FORMATS = ("docx", "pdf", "html")
PAPER_OUTPUTS = [f"{PAPER_DIR}/manuscript.{fmt}" for fmt in PAPER_FORMATS] + [
    f"{PAPER_DIR}/table{i}.csv" for i in (1, 2, 3)
]
# The study parameters the manuscript's Methods report.
VALUE_PARAMETERS = ("segmentation_rule", "implementation_threshold", "implemented_count_threshold",
                    "confidence_level", "distinguishing_p_strong", "distinguishing_p_weak",
                    "composite_min_answered")
# The notebooks whose tables (and figures) the values and the manuscript read.
STUDY_RECORDS = [f"{PROV}/{name}.json" for name in (
    "01_data_inventory", "02_case_segmentation", "03_conceptual_model", "04_survey_effect",
    "05_claims_check", "06_robustness")]


def paper_for_site(wildcards=None):
    """The report site links the manuscript once it exists, or when this run makes it: it then waits for the
    manuscript's files, but an edit to them (a new template) does not rebuild the site (ancient)."""
    requested = "paper" in set(workflow.dag_settings.targets or ())
    if requested or Path(PAPER_DIR, "manuscript.html").is_file():
        return [ancient(p) for p in PAPER_OUTPUTS]
    return []


rule values:
    input:
        STUDY_RECORDS,
        descriptor=f"{RAW}/datapackage.json",
        code=command_code("values"),
    output:
        VALUES,
    params:
        p=shlex.quote(json.dumps({k: config[k] for k in VALUE_PARAMETERS}, sort_keys=True)),
    shell:
        "{PYTHON} -m integrating.cli values --derived-dir {DERIVED} --raw-dir {RAW} --parameters {params.p} --out {output}"


rule manuscript:
    input:
        STUDY_RECORDS,
        values=VALUES,
        templates=PAPER_TEMPLATES,
        code=command_code("manuscript"),
    output:
        PAPER_OUTPUTS,
    params:
        excerpts="--show-excerpts" if config["show_excerpts"] else "--no-show-excerpts",
    shell:
        "{PYTHON} -m integrating.cli paper --values {input.values} --figures-dir {FIGURES} --out {PAPER_DIR} "
        "{params.excerpts}"


rule paper:
    input:
        PAPER_OUTPUTS,
        provenance.SITE_MANIFEST,
