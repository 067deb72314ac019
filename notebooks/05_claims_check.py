# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python (integrating)
#     language: python
#     name: integrating
# ---

# %% [markdown]
# # 05 · Claims check: are the published numbers reproduced?
#
# The last step of the study. The paper reports a handful of numbers: 16 clinics followed over 15 months;
# field notes, meeting minutes and interviews as sources; 9 clinics that implemented more and 7 less; four
# mechanisms of integrating; patients' ratings rising by +0.07 in the integrating clinics and falling by
# -0.08 in the others, p = .02. The machine-readable claims file (`src/integrating/claims.yaml`) says, for
# each, the sentence it comes from, the derived table, column and row it is recomputed from, the paper's
# rounding rule and a tolerance. Each reproduced value is computed **from the derived tables only**; the
# published value is read afterwards, to compare. Then internal-consistency checks in the style of
# statcheck and GRIM recompute reported statistics from one another.
#
# **The bundled data are SYNTHETIC** (`integrating synth`): an invented study whose default seed was chosen
# so that the survey reproduces the published rounding. On another seed, or on real or teaching data, some
# claims are expected to fail, and this notebook says which. With `fail_on_claims = True` (`make verify`)
# the last cell stops the pipeline naming every failing claim. Methods: `docs/claims.md`.

# %% tags=["parameters"]
raw_dir = "data/raw"
derived_dir = "data/derived"
figures_dir = "figures"
provenance_dir = "reports/provenance"
fail_on_claims = False

# %%
from pathlib import Path

from integrating import claims, contract, plotting, provenance

plotting.use_style()
run = provenance.Run.start("05_claims_check", globals())
study = contract.load(raw_dir)
run.input(*study.files())
claims_file = claims.load_claims()
run.input(claims.CLAIMS_FILE, *claims.inputs(derived_dir, raw_dir, claims_file))
synthetic = "SYNTHETIC " if study.info.synthetic else ""
print(f"{synthetic}study: {len(study.clinics)} clinics over {study.info.months} months")

# %% [markdown]
# ## The claims
#
# Each published number, the sentence it comes from (paraphrased), and where its reproduced value is read.
# A count must match exactly; a mean change or p-value must match once rounded as the paper rounds
# (2 decimals, half away from zero).

# %%
claims.claims_table(claims_file)

# %% [markdown]
# ## Checking them
#
# One row per claim, then one per consistency check: p recomputed from the Student and Welch t statistics
# and their df (scipy.stats.t, two-sided); the Student t recomputed from the group sizes, means and SDs;
# the estimate equal to the difference of the group means; the group means, SDs and sizes equal to those
# of the clinic-level table; each clinic's change equal to post minus pre; and GRIM, every clinic wave
# mean achievable from its number of responses when each response's composite is a mean of integer item
# answers. An input that is missing or unusable makes its claim fail with the reason.

# %%
table = claims.check(derived_dir, raw_dir, claims_file)
run.table(table, Path(derived_dir) / "claims_check.csv")
table

# %%
summary = claims.summary(table)
run.table(summary, Path(derived_dir) / "claims_summary.csv")
summary

# %% [markdown]
# ## Verdict
#
# `run.finish()` writes the provenance record; then, when `fail_on_claims` is true and a claim fails, the
# cell raises an error naming every failing claim, so that `make verify` exits non-zero. A plain
# `make run` only reports.
#
# **What a pass shows.** The bundled synthetic study was calibrated until its summary matched the
# published numbers: `integrating synth` uses the first seed whose survey summary rounds to +0.07, -0.08
# and p = .02. Its passing claims therefore show that the machinery works (the analyses, read from the
# derived tables, reproduce numbers like the paper's from data like the paper's), not that the paper's
# analysis is right. On real data a pass means the published numbers are reproduced from those data.

# %%
run.finish()
print(claims.enforce(table, fail_on_claims))
