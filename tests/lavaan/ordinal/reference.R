# Reference values for tests/test_sem_ordinal.py: lavaan 0.6.14 cfa(..., ordered, estimator = "WLSMV").
# Regenerate (from the repository root):  Rscript tests/lavaan/ordinal/reference.R
# Sources models.R (the models and writers it shares with reference_cluster.R).
# Reads the committed CSVs hs_ordinal.csv and hs_ordinal_holes.csv (make_hs_data.R) and study_env.csv
# (make_study_data.py)
# and writes ref_estimates.csv, ref_fit.csv, ref_lrt.csv and the first-stage ref_*_gamma.csv, ref_*_wls_obs.csv.
suppressMessages(library(lavaan))
stopifnot(packageVersion("lavaan") == "0.6.14")
here <- if (interactive()) "." else dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE)))
hs <- read.csv(file.path(here, "hs_ordinal.csv"))
study <- read.csv(file.path(here, "study_env.csv"))
study2 <- study[study$race %in% c("Black", "White"), ]

source(file.path(here, "models.R"))
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

write_estimates_and_fit(fits, file.path(here, "ref_estimates.csv"), file.path(here, "ref_fit.csv"))

lrt <- list()
for (data_name in c("hs2", "study2", "hsmix2", "hs2pw")) {
  # with ordered items only, the "intercepts" step adds no constraint (lavaan then warns of equal df)
  k <- if (data_name == "hsmix2") 4 else 3
  lrt[[data_name]] <- lrt_rows(data_name, fits[paste0(data_name, "_", names(steps)[1:k])], names(steps)[1:k])
}
lrt$hs_sem_mg <- equality_rows("hs_sem_mg", fits$hs_sem_mg, fits$hs_sem_mg_a)
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
