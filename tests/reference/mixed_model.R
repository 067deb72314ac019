# Reference values for tests/test_survey.py and tests/test_stats.py, computed once with R.
# Run from the repository root:  Rscript tests/reference/mixed_model.R
# Needs R with lme4, lmerTest, pbkrtest and effectsize (Debian: r-cran-lme4 r-cran-lmertest
# r-cran-pbkrtest r-cran-effectsize). The tests read the CSV it writes and never need R.
#
# Input: tests/reference/survey_<data set>.csv, one row per valid response of the clinics that enter
# the survey analysis (response_id, clinic_id, wave, group, composite), written by
# tests/reference/make_survey_data.py from the bundled study and from synthetic studies.
# Output: tests/reference/mixed_model_reference.csv, one row per data set and model.
suppressPackageStartupMessages({
  library(lme4)
  library(lmerTest)
  library(pbkrtest)
  library(effectsize)
})

here <- "tests/reference"
sets <- c("bundled", "synth4", "synth6")
term <- "wavepost:groupmore"
rows <- list()
for (set in sets) {
  d <- read.csv(file.path(here, paste0("survey_", set, ".csv")), colClasses = c(clinic_id = "character"))
  d$wave <- factor(d$wave, levels = c("pre", "post"))
  d$group <- factor(d$group, levels = c("less", "more"))
  n_clinics <- length(unique(d$clinic_id))
  fits <- list(
    clinic_x_wave = lmer(composite ~ wave * group + (1 | clinic_id) + (1 | clinic_id:wave), data = d, REML = TRUE),
    random_slope = lmer(composite ~ wave * group + (1 + wave | clinic_id), data = d, REML = TRUE),
    random_intercept_only = lmer(composite ~ wave * group + (1 | clinic_id), data = d, REML = TRUE)
  )
  for (model in names(fits)) {
    m <- fits[[model]]
    cf <- summary(m, ddf = "Satterthwaite")$coefficients[term, ]
    est <- unname(cf["Estimate"]); se <- unname(cf["Std. Error"])
    t <- est / se
    df_resid <- n_clinics - 2
    kr <- summary(m, ddf = "Kenward-Roger")$coefficients[term, ]
    vc <- as.data.frame(VarCorr(m))
    rows[[length(rows) + 1]] <- data.frame(
      data_set = set, model = model, n_responses = nrow(d), n_clinics = n_clinics,
      estimate = est, se = se, t = t,
      df_clinics = df_resid, p_t_clinics = 2 * pt(-abs(t), df_resid),
      p_wald_z = 2 * pnorm(-abs(t)),
      df_satterthwaite = unname(cf["df"]), p_satterthwaite = unname(cf["Pr(>|t|)"]),
      df_kenward_roger = unname(kr["df"]), p_kenward_roger = unname(kr["Pr(>|t|)"]),
      reml_loglik = as.numeric(logLik(m)),
      var_clinic_x_wave = if (model == "clinic_x_wave") vc$vcov[vc$grp == "clinic_id:wave"] else NA,
      var_clinic = if (model != "random_slope") vc$vcov[vc$grp == "clinic_id" & is.na(vc$var2) & vc$var1 %in% c("(Intercept)")][1] else NA,
      var_residual = vc$vcov[vc$grp == "Residual"],
      singular = isSingular(m), ci_low = NA, ci_high = NA
    )
  }
  # Hedges g and Cohen's d of clinic-level change (post - pre of the clinic means), more - less, with
  # the exact interval from the noncentral t (effectsize, pooled SD).
  means <- aggregate(composite ~ clinic_id + wave + group, data = d, FUN = mean)
  wide <- reshape(means, idvar = c("clinic_id", "group"), timevar = "wave", direction = "wide")
  wide$change <- wide$composite.post - wide$composite.pre
  # effectsize's J is the exact gamma-function form; Cohen's d has the same noncentral-t interval
  # without any J, so d's limits times any J give that J's Hedges g interval.
  g <- hedges_g(change ~ relevel(group, ref = "more"), data = wide, pooled_sd = TRUE, ci = 0.95)
  cd <- cohens_d(change ~ relevel(group, ref = "more"), data = wide, pooled_sd = TRUE, ci = 0.95)
  for (es in list(list("hedges_g", g$Hedges_g, g$CI_low, g$CI_high), list("cohens_d", cd$Cohens_d, cd$CI_low, cd$CI_high))) {
    rows[[length(rows) + 1]] <- data.frame(
      data_set = set, model = es[[1]], n_responses = nrow(d), n_clinics = n_clinics,
      estimate = es[[2]], se = NA, t = NA, df_clinics = n_clinics - 2, p_t_clinics = NA, p_wald_z = NA,
      df_satterthwaite = NA, p_satterthwaite = NA, df_kenward_roger = NA, p_kenward_roger = NA,
      reml_loglik = NA, var_clinic_x_wave = NA, var_clinic = NA, var_residual = NA, singular = NA,
      ci_low = es[[3]], ci_high = es[[4]]
    )
  }
}
out <- do.call(rbind, rows)
write.csv(out, file.path(here, "mixed_model_reference.csv"), row.names = FALSE)
cat(sprintf("R %s, lme4 %s, lmerTest %s, pbkrtest %s, effectsize %s\n", getRversion(), packageVersion("lme4"),
            packageVersion("lmerTest"), packageVersion("pbkrtest"), packageVersion("effectsize")))
