# Reference values for tests/test_sem_ordinal.py: lavaan 0.6.14 cfa(..., ordered, estimator = "WLSMV").
# Regenerate (from the repository root):  Rscript tests/lavaan/ordinal/reference.R
# Reads the committed CSVs hs_ordinal.csv and hs_ordinal_holes.csv (make_hs_data.R) and study_env.csv
# (make_study_data.py)
# and writes ref_estimates.csv, ref_fit.csv, ref_lrt.csv and the first-stage ref_*_gamma.csv, ref_*_wls_obs.csv.
suppressMessages(library(lavaan))
stopifnot(packageVersion("lavaan") == "0.6.14")
here <- if (interactive()) "." else dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE)))
hs <- read.csv(file.path(here, "hs_ordinal.csv"))
study <- read.csv(file.path(here, "study_env.csv"))
study2 <- study[study$race %in% c("Black", "White"), ]

hs_model <- '
visual =~ x1 + a*x2 + b*x3
textual =~ x4 + x5 + x6
speed =~ x7 + x8 + x9
dab := a - b
'
hs_cfa <- '
visual =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
speed =~ x7 + x8 + x9
'
hs_mixed <- '
visual =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
speed =~ c7 + c8 + c9
'
study_model <- '
ps =~ env_ps1 + env_ps2 + env_ps3 + env_ps4
ma =~ env_ma1 + env_ma2 + env_ma3 + env_ma4
sc =~ env_sc1 + env_sc2 + env_sc3 + env_sc4
'
study_sem <- paste(study_model, '
sc ~ ps + ma
env_ps1 ~~ env_ps2
')
# structural: two ordinal factors, a regression between them, a continuous outcome, two
# covariates (conditional.x = FALSE: the covariates join the first stage; fixed.x = TRUE: their
# moments are fixed at the sample values), an indirect effect
hs_sem <- '
visual =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
visual ~ female + age
textual ~ a*visual + female + age
c7 ~ b*textual + visual + female + age
ind := a*b
'
hs_ov <- paste0("x", 1:9)
study_ov <- grep("^env_", names(study), value = TRUE)
steps <- list(configural = "", thresholds = "thresholds",
              loadings = c("thresholds", "loadings"),
              intercepts = c("thresholds", "loadings", "intercepts"))

fits <- list()
fits$hs1 <- cfa(hs_model, data = hs, ordered = hs_ov, estimator = "WLSMV")
fits$hs_mixed <- cfa(hs_mixed, data = hs, ordered = paste0("x", 1:6), estimator = "WLSMV")
fits$study1 <- cfa(study_model, data = study, ordered = study_ov, estimator = "WLSMV")
fits$study_sem <- cfa(study_sem, data = study, ordered = study_ov, estimator = "WLSMV")
# lavaan warns that female's (0/1) mean and variance scores are collinear (generalized inverse)
fits$hs_sem <- suppressWarnings(sem(hs_sem, data = hs, ordered = paste0("x", 1:6), estimator = "WLSMV",
                                    conditional.x = FALSE, fixed.x = TRUE))
fits$hs_sem2 <- suppressWarnings(sem(hs_sem, data = hs, ordered = paste0("x", 1:6), estimator = "WLSMV",
                                     conditional.x = FALSE, fixed.x = TRUE, group = "school"))
# two groups as the Black-White comparison: group-specific path labels, equal loadings but one,
# and the model with one path equal (lavTestLRT and lavTestWald of that equality)
hs_sem_mg <- '
visual =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
visual ~ female + age
textual ~ c(a1, a2)*visual + female + age
c7 ~ c(b1, b2)*textual + visual + female + age
'
fits$hs_sem_mg <- suppressWarnings(sem(hs_sem_mg, data = hs, ordered = paste0("x", 1:6), estimator = "WLSMV",
                                       conditional.x = FALSE, fixed.x = TRUE, group = "school",
                                       group.equal = "loadings", group.partial = "visual=~x3"))
fits$hs_sem_mg_a <- suppressWarnings(sem(sub("c\\(a1, a2\\)", "c(a, a)", hs_sem_mg), data = hs,
                                         ordered = paste0("x", 1:6), estimator = "WLSMV",
                                         conditional.x = FALSE, fixed.x = TRUE, group = "school",
                                         group.equal = "loadings", group.partial = "visual=~x3"))
for (s in names(steps)) {
  fits[[paste0("hs2_", s)]] <- cfa(hs_cfa, data = hs, ordered = hs_ov, estimator = "WLSMV",
                                   group = "school", group.equal = steps[[s]])
  fits[[paste0("hsmix2_", s)]] <- cfa(hs_mixed, data = hs, ordered = paste0("x", 1:6), estimator = "WLSMV",
                                      group = "school", group.equal = steps[[s]])
  fits[[paste0("study2_", s)]] <- cfa(study_model, data = study2, ordered = study_ov,
                                      estimator = "WLSMV", group = "race", group.equal = steps[[s]])
}

# missing = "pairwise" (hs_ordinal_holes.csv: MCAR and MAR holes, covariate holes, empty rows)
holes <- read.csv(file.path(here, "hs_ordinal_holes.csv"))
pw <- function(model, ...) suppressWarnings(cfa(model, data = holes, estimator = "WLSMV", missing = "pairwise", ...))
fits$hs1_pw <- pw(hs_model, ordered = hs_ov)
fits$hs_mixed_pw <- pw(hs_mixed, ordered = paste0("x", 1:6))
fits$hs_sem_pw <- suppressWarnings(sem(hs_sem, data = holes, ordered = paste0("x", 1:6), estimator = "WLSMV",
                                       conditional.x = FALSE, fixed.x = TRUE, missing = "pairwise"))
for (s in names(steps)[1:3]) {
  fits[[paste0("hs2pw_", s)]] <- pw(hs_cfa, ordered = hs_ov, group = "school", group.equal = steps[[s]])
}

measures <- c("npar", "chisq", "df", "pvalue", "chisq.scaled", "df.scaled", "pvalue.scaled",
              "chisq.scaling.factor", "baseline.chisq", "baseline.df", "baseline.chisq.scaled",
              "baseline.df.scaled", "baseline.chisq.scaling.factor", "cfi", "tli", "cfi.scaled",
              "tli.scaled", "rmsea", "rmsea.ci.lower", "rmsea.ci.upper", "rmsea.pvalue",
              "rmsea.scaled", "rmsea.ci.lower.scaled", "rmsea.ci.upper.scaled",
              "rmsea.pvalue.scaled", "srmr", "ntotal")
est <- list(); fitm <- list()
for (name in names(fits)) {
  f <- fits[[name]]
  pe <- parameterEstimates(f, standardized = TRUE)
  grp <- if (is.null(pe$group)) 1L else pe$group
  lab <- if (is.null(pe$label)) "" else pe$label
  est[[name]] <- data.frame(model = name, lhs = pe$lhs, op = pe$op, rhs = pe$rhs, group = grp,
                            label = lab, est = pe$est, se = pe$se, std.all = pe$std.all)
  fm <- fitMeasures(f, measures)
  shift <- lavInspect(f, "test")$scaled.shifted$shift.parameter
  fitm[[name]] <- data.frame(model = name,
                             measure = c(names(fm), paste0("chisq.shift.parameters", seq_along(shift))),
                             value = c(unname(fm), shift))
}
write.csv(do.call(rbind, est), file.path(here, "ref_estimates.csv"), row.names = FALSE)
write.csv(do.call(rbind, fitm), file.path(here, "ref_fit.csv"), row.names = FALSE)

lrt <- list()
for (data_name in c("hs2", "study2", "hsmix2", "hs2pw")) {
  # with ordered items only, the "intercepts" step adds no constraint (lavaan then warns of equal df)
  k <- if (data_name == "hsmix2") 4 else 3
  m <- fits[paste0(data_name, "_", names(steps)[1:k])]
  tab <- suppressWarnings(do.call(lavTestLRT, c(unname(m), list(model.names = names(steps)[1:k]))))
  lrt[[data_name]] <- data.frame(sequence = data_name, model = rownames(tab), Df = tab$Df,
                                 Chisq = tab$Chisq, chisq.diff = tab[["Chisq diff"]],
                                 df.diff = tab[["Df diff"]], pvalue = tab[["Pr(>Chisq)"]])
}
tab <- suppressWarnings(lavTestLRT(fits$hs_sem_mg, fits$hs_sem_mg_a))
wald <- lavTestWald(fits$hs_sem_mg, "a1 == a2")
lrt$hs_sem_mg <- data.frame(sequence = "hs_sem_mg", model = c("hs_sem_mg", "hs_sem_mg_a", "wald"),
                            Df = c(tab$Df, wald$df), Chisq = c(tab$Chisq, wald$stat),
                            chisq.diff = c(tab[["Chisq diff"]], NA), df.diff = c(tab[["Df diff"]], NA),
                            pvalue = c(tab[["Pr(>Chisq)"]], wald$p.value))
write.csv(do.call(rbind, lrt), file.path(here, "ref_lrt.csv"), row.names = FALSE)

# Sample statistics and their asymptotic covariance (NACOV), to check the first stage alone.
write.csv(data.frame(value = lavInspect(fits$hs1, "wls.obs")), file.path(here, "ref_hs1_wls_obs.csv"),
          row.names = FALSE)
write.csv(unname(lavInspect(fits$hs1, "gamma")), file.path(here, "ref_hs1_gamma.csv"), row.names = FALSE)
write.csv(data.frame(value = lavInspect(fits$hs_mixed, "wls.obs")),
          file.path(here, "ref_hs_mixed_wls_obs.csv"), row.names = FALSE)
write.csv(unname(lavInspect(fits$hs_mixed, "gamma")), file.path(here, "ref_hs_mixed_gamma.csv"),
          row.names = FALSE)
write.csv(data.frame(value = lavInspect(fits$hs_sem, "wls.obs")),
          file.path(here, "ref_hs_sem_wls_obs.csv"), row.names = FALSE)
write.csv(unname(lavInspect(fits$hs_sem, "gamma")), file.path(here, "ref_hs_sem_gamma.csv"),
          row.names = FALSE)
for (name in c("hs1_pw", "hs_mixed_pw")) {
  write.csv(data.frame(value = lavInspect(fits[[name]], "wls.obs")),
            file.path(here, paste0("ref_", name, "_wls_obs.csv")), row.names = FALSE)
  write.csv(unname(lavInspect(fits[[name]], "gamma")), file.path(here, paste0("ref_", name, "_gamma.csv")),
            row.names = FALSE)
}
