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
# # Exercise 3 · Design a study with enough power
#
# | session | time | prerequisites |
# | --- | --- | --- |
# | 2 (third exercise) | about 30 minutes | exercise 06 (clinics are the unit); the idea of statistical power |
#
# **After this exercise you can**
# - compute the analytic power of the Student t-test for a clustered pre/post design;
# - find the smallest number of clinics that reaches a target power;
# - explain why more respondents per clinic stop helping, and check the formula against a simulation.
#
# ## Reading
#
# The study compared 16 clinics (9 that implemented more, 7 less). Suppose you plan a new study like
# it and expect a true difference in mean survey change of 0.15 points on the 5-point scale. The model
# of `integrating.power` (docs/robustness-and-power.md): each response varies around its clinic's mean
# with SD `sd`; a share `icc` of that variance lies between clinics, and a clinic's true mean in the two
# waves correlates `wave_correlation`. A clinic's change then varies with SD `change_sd`: more
# respondents shrink only the part due to patients, not the part due to clinics moving between waves.
#
# Power can be computed in two ways. The **analytic** power of the Student t-test comes from the
# noncentral t distribution (`power.analytic_power`); the **simulated** power draws many studies from
# the model and counts how often the test rejects (it carries a Monte Carlo error). **This exercise
# asks for the analytic power**; the simulation below only checks the formula.
#
# The bundled data are SYNTHETIC (`integrating synth`): invented clinics, documents and patients that
# follow the published design. Run the cells from the top (JupyterLab: *Run > Run All Cells*), answer in
# the cell tagged `answer`, run it, then run the self-check below it: it says RIGHT, NOT YET or "not
# answered yet" for each question and never shows the expected value.

# %% tags=["parameters"]
difference = 0.15
share_more = 0.5625
respondents = 100
icc = 0.1
wave_correlation = 0.9
sd = 0.6
alpha = 0.05
target = 0.8
seed = 20170301


# %%
from integrating import power, teaching

original = power.make_design(16, share_more, respondents, icc, wave_correlation, sd, difference)
analytic = float(power.analytic_power(original.clinics, original.n_more, original.change_sd, difference, alpha))
rows = power.simulate(original, seed=seed, start=0, stop=2000, alpha=alpha)
simulated = sum(r["rejections_student"] for r in rows) / 2000
mixed = sum(r["rejections_mixed"] for r in rows) / 2000
print(f"A study like the original ({original.clinics} clinics, {respondents} respondents per clinic and wave): "
      f"change SD {original.change_sd:.3f}, standardised difference {original.effect_size:.2f}")
print(f"Power of the Student t-test: analytic {analytic:.3f}, simulated {simulated:.3f} "
      f"(+/- {2 * (simulated * (1 - simulated) / 2000) ** 0.5:.3f}); mixed model (simulated) {mixed:.3f}")


# %% [markdown]
# ## Task
#
# All three questions use the **analytic** power of the two-sided Student t-test.
#
# 1. How many clinics in total (with `share_more` of them in "more") does the Student t-test need to
#    reach `target` power (80%) for a true difference of 0.15 with 100 respondents per clinic and wave?
#    Give the **smallest** total that reaches it.
# 2. The same with 400 respondents per clinic and wave.
# 3. True or false: with 1,000 respondents per clinic and wave, 8 clinics reach 80% power.
# 4. **In writing** (`answer_written`): a funder offers to survey 1,000 patients per clinic in 8 clinics
#    instead of 100 patients in more clinics. What do you answer, and why does the simulated power of
#    the mixed model above not change your answer?
#
# *Tools:* `power.make_design(clinics, share_more, respondents, icc, wave_correlation, sd, difference)`
# gives a design with its `change_sd`, `power.analytic_power(clinics, n_more, change_sd, difference,
# alpha)` its power (it accepts arrays of clinics), `power.n_more_of(clinics, share_more)` the group size.

# %% tags=["answer"]
import numpy as np

totals = np.arange(4, 1000)
n_more = np.array([power.n_more_of(n, share_more) for n in totals])
usable = (n_more >= 2) & (totals - n_more >= 2)
smallest = {}
for m in (100, 400):
    design = power.make_design(16, share_more, m, icc, wave_correlation, sd, difference)
    pw = power.analytic_power(totals[usable], n_more[usable], design.change_sd, difference, alpha)
    smallest[m] = int(totals[usable][np.argmax(pw >= target)])
answer_clinics_100, answer_clinics_400 = smallest[100], smallest[400]
eight_design = power.make_design(8, share_more, 1000, icc, wave_correlation, sd, difference)
answer_eight_enough = bool(power.analytic_power(8, eight_design.n_more, eight_design.change_sd, difference, alpha)
                           >= target)
answer_written = (
    "Decline: with 8 clinics the clinics' own movement between waves dominates the change SD and the test has "
    "only 6 degrees of freedom, so 1,000 patients per clinic cannot reach 80% power; more clinics can. The "
    "mixed model looks more powerful only because it treats that clinic movement as patient noise, which also "
    "raises its false-positive rate above alpha."
)
print(answer_clinics_100, answer_clinics_400, answer_eight_enough)


# %% tags=["self-check"]
teaching.check_power(share_more=share_more, icc=icc, wave_correlation=wave_correlation, sd=sd,
                     difference=difference, alpha=alpha, target=target, clinics_100=answer_clinics_100,
                     clinics_400=answer_clinics_400, eight_enough=answer_eight_enough, written=answer_written);


# %% [markdown]
# ## Why
#
# A clinic's change has variance 2 var_clinic_wave + 2 var_residual / respondents. More respondents
# shrink only the second term: from 100 to 400 respondents the change SD falls, and fewer clinics are
# needed, but beyond a few hundred respondents the clinics' own movement between waves dominates and
# only more **clinics** help. Small studies also have few degrees of freedom (clinics - 2), which
# costs power on top. The mixed model's higher "power" above is not a free lunch: it treats the clinics'
# wave-to-wave movement as patient noise, and its false-positive rate with no true difference is above
# `alpha` (figure `power`, panel c, from `make power`). The simulated power of the Student t-test agrees
# with the analytic one within its Monte Carlo error: the formula is right for this model.
