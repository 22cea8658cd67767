# Reference values for tests/test_sem_fiml.py: lavaan 0.6.14 fits (FIML, MLR, clusters,
# scaled difference and Wald tests) on data sets with deterministic holes.
# Regenerate (writes the CSVs beside this script):
#   Rscript tests/lavaan/fiml_mlr/make_reference.R
# The same fits in another lavaan, written as <name>_reference_*.csv (lavaan07_: 0.7-2.3170 built
# from its source, whose log-likelihood with missing = "ml.x" and a covariate with holes differs):
#   R_LIBS=~/R-lavaan07 Rscript tests/lavaan/fiml_mlr/make_reference.R lavaan07
suppressMessages(library(lavaan))
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("--file=", "", args[grep("--file=", args)])))
prefix <- commandArgs(trailingOnly = TRUE)
prefix <- if (length(prefix)) paste0(prefix[1], "_") else ""

holes_mcar <- function(d, vars, rate, seed) {
  set.seed(seed)
  for (v in vars) d[[v]][runif(nrow(d)) < rate] <- NA
  d
}
# MAR: holes depend on an always-observed variable
holes_mar <- function(d, vars, driver, seed) {
  set.seed(seed)
  hi <- d[[driver]] > median(d[[driver]])
  for (v in vars) d[[v]][runif(nrow(d)) < ifelse(hi, 0.25, 0.05)] <- NA
  d
}

HS <- HolzingerSwineford1939[, c("id", paste0("x", 1:9))]
HS$clu <- HS$id %% 20
hs_mcar <- holes_mcar(HS, paste0("x", 1:9), 0.10, 11)
hs_mar <- holes_mar(HS, paste0("x", 2:9), "x1", 12)
PD <- PoliticalDemocracy
pd_mcar <- holes_mcar(PD, c(paste0("y", 1:8), paste0("x", 1:3)), 0.08, 13)

# small study-like model: two groups mixed within 30 classrooms
set.seed(14)
n <- 600
st <- data.frame(classroom = sample(1:30, n, replace = TRUE))
st$race <- ifelse(runif(n) < 0.45, "Black", "White")
u <- rnorm(30, sd = 0.4)[st$classroom]
st$grades <- rnorm(n)
eta <- 0.4 * st$grades + u + rnorm(n)
for (k in 1:3) st[[paste0("i", k)]] <- round(0.8 * eta + rnorm(n, sd = 0.6), 3)
st$med <- round(0.5 * eta + 0.2 * st$grades + rnorm(n), 3)
st$out <- round(ifelse(st$race == "Black", 0.5, 0.3) * st$med + 0.3 * eta + u + rnorm(n), 3)
st$grades <- round(st$grades, 3)
st <- holes_mcar(st, c("i1", "i2", "i3", "med", "out"), 0.05, 15)
# a covariate with holes: missing = "ml.x" keeps the rows, "ml" (fixed.x) drops them
stx <- holes_mcar(st, "grades", 0.06, 16)

HS_CFA <- ' visual =~ x1 + x2 + x3
 textual =~ x4 + x5 + x6
 speed =~ x7 + x8 + x9 '
PD_SEM <- ' ind60 =~ x1 + x2 + x3
 dem60 =~ y1 + y2 + y3 + y4
 dem65 =~ y5 + y6 + y7 + y8
 dem60 ~ ind60
 dem65 ~ ind60 + dem60
 y1 ~~ y5
 y2 ~~ y4 + y6
 y3 ~~ y7
 y4 ~~ y8
 y6 ~~ y8 '
STUDY <- ' eng =~ i1 + i2 + i3
 med ~ c(a1, a2)*eng + grades
 out ~ c(b_black, b_white)*med + eng + grades
 ind_black := a1 * b_black
 diff := b_black - b_white '
STUDY_EQ <- ' eng =~ i1 + i2 + i3
 med ~ c(a1, a2)*eng + grades
 out ~ c(b, b)*med + eng + grades '

measures <- c("npar", "chisq", "df", "pvalue", "baseline.chisq", "baseline.df", "cfi", "tli", "rmsea", "srmr",
              "logl", "unrestricted.logl", "chisq.scaled", "chisq.scaling.factor", "baseline.chisq.scaled",
              "baseline.chisq.scaling.factor", "cfi.scaled", "tli.scaled", "rmsea.scaled",
              "cfi.robust", "tli.robust", "rmsea.robust", "ntotal", "rmsea.ci.lower", "rmsea.ci.upper",
              "rmsea.ci.lower.scaled", "rmsea.ci.upper.scaled", "rmsea.ci.lower.robust", "rmsea.ci.upper.robust")
EST <- list(); FIT <- list()
record <- function(fit, without_h1 = FALSE) {
  pe <- parameterEstimates(fit)
  if (is.null(pe$group)) pe$group <- 1L
  if (is.null(pe$label)) pe$label <- ""
  if (without_h1) {  # fitMeasures() stops on the singular h1 information: the likelihood's own
    ll <- fit@loglik
    fm <- c(npar = ll$npar, logl = ll$loglik, aic = ll$AIC, bic = ll$BIC, ntotal = lavInspect(fit, "ntotal"))
  } else {
    fm <- fitMeasures(fit)
  }
  keep <- intersect(c(measures, "aic", "bic"), names(fm))
  list(estimates = pe[, c("lhs", "op", "rhs", "group", "label", "est", "se")],
       fit = data.frame(measure = keep, value = as.numeric(fm[keep])))
}
out <- list()
t0 <- Sys.time()
out$hs_mcar_ml <- record(cfa(HS_CFA, hs_mcar, missing = "ml"))
out$hs_mcar_mlr <- record(cfa(HS_CFA, hs_mcar, missing = "ml", estimator = "MLR"))
out$hs_mar_ml <- record(cfa(HS_CFA, hs_mar, missing = "ml"))
out$hs_mar_mlr <- record(cfa(HS_CFA, hs_mar, missing = "ml", estimator = "MLR"))
out$hs_mar_mlr_cluster <- record(cfa(HS_CFA, hs_mar, missing = "ml", estimator = "MLR", cluster = "clu"))
out$hs_complete_mlr <- record(cfa(HS_CFA, HS, estimator = "MLR"))
out$pd_mcar_ml <- record(sem(PD_SEM, pd_mcar, missing = "ml"))
out$pd_mcar_mlr <- record(sem(PD_SEM, pd_mcar, missing = "ml", estimator = "MLR"))
STUDY_ONE <- ' eng =~ i1 + i2 + i3
 med ~ eng + grades
 out ~ med + eng + grades '
out$studyx_mlx <- record(sem(STUDY_ONE, stx, missing = "ml.x"))
out$studyx_ml <- record(sem(STUDY_ONE, stx, missing = "ml"))
out$study_loadings_equal <- record(sem(STUDY_ONE, st, missing = "ml", estimator = "MLR", cluster = "classroom",
                                      group = "race", group.label = c("Black", "White"), group.equal = "loadings"))
free <- sem(STUDY, st, missing = "ml", estimator = "MLR", cluster = "classroom", group = "race",
            group.label = c("Black", "White"))
eq <- sem(STUDY_EQ, st, missing = "ml", estimator = "MLR", cluster = "classroom", group = "race",
          group.label = c("Black", "White"))
out$study_free <- record(free)
out$study_eq <- record(eq)
lrt <- lavTestLRT(eq, free)
out$study_lrt <- list(chisq_diff = lrt[["Chisq diff"]][2], df_diff = lrt[["Df diff"]][2],
                      pvalue = lrt[["Pr(>Chisq)"]][2], method = attr(lrt, "heading"))
w <- lavTestWald(free, constraints = "b_black == b_white")
out$study_wald <- list(stat = w$stat, df = w$df, p.value = w$p.value)
# few rows for their variables (16 students, 13 variables, 8% of the answers blank): the EM of
# the unrestricted model ends on a singular covariance matrix. lavaan warns and goes on; the
# estimates and SEs do not involve the unrestricted model (its chi-square, from the EM's last
# iterate, is not recorded). MLR's scaled test stops on the singular h1 information,
# so MLR's sandwich SEs come from estimator = "ML" with se = "robust.huber.white" / "robust.cluster"
# and test = "standard" (with a cluster lavaan would otherwise scale the test).
set.seed(18)
n <- 16
f <- rnorm(n)
few <- as.data.frame(round(0.8 * f + matrix(rnorm(n * 12, sd = 0.6), n, 12), 3))
names(few) <- paste0("y", 1:12)
few$x <- round(0.5 * f + rnorm(n, sd = 0.8), 3)
few$clu <- rep(1:8, 2)
few <- holes_mcar(few, paste0("y", 1:12), 0.08, 118)
FEW <- paste("f =~", paste0("y", 1:12, collapse = " + "), "\n f ~ x")
out$few_ml <- suppressWarnings(record(sem(FEW, few, missing = "ml"), TRUE))
out$few_mlr <- suppressWarnings(record(sem(FEW, few, missing = "ml", estimator = "ML", se = "robust.huber.white",
                                           test = "standard"), TRUE))
out$few_mlr_cluster <- suppressWarnings(record(sem(FEW, few, missing = "ml", estimator = "ML", se = "robust.cluster",
                                                   test = "standard", cluster = "clu"), TRUE))
# fewer rows than variables (its first 12 students): no sample covariance matrix, but a likelihood
few12 <- few[1:12, ]
out$few12_ml <- suppressWarnings(record(sem(FEW, few12, missing = "ml"), TRUE))
out$few12_mlr <- suppressWarnings(record(sem(FEW, few12, missing = "ml", estimator = "ML",
                                             se = "robust.huber.white", test = "standard"), TRUE))
out$seconds <- as.numeric(Sys.time() - t0, units = "secs")
write.csv(hs_mcar, file.path(here, "hs_mcar.csv"), row.names = FALSE, na = "")
write.csv(hs_mar, file.path(here, "hs_mar.csv"), row.names = FALSE, na = "")
write.csv(HS, file.path(here, "hs_complete.csv"), row.names = FALSE, na = "")
write.csv(pd_mcar, file.path(here, "pd_mcar.csv"), row.names = FALSE, na = "")
write.csv(st, file.path(here, "study.csv"), row.names = FALSE, na = "")
write.csv(stx, file.path(here, "study_x_holes.csv"), row.names = FALSE, na = "")
write.csv(few, file.path(here, "few_rows.csv"), row.names = FALSE, na = "")
write.csv(few12, file.path(here, "fewer_rows_than_variables.csv"), row.names = FALSE, na = "")
fits <- out[sapply(out, function(x) is.list(x) && !is.null(x[["estimates"]]))]
est <- do.call(rbind, lapply(names(fits), function(k) cbind(fit = k, fits[[k]]$estimates)))
fm <- do.call(rbind, lapply(names(fits), function(k) cbind(fit = k, fits[[k]]$fit)))
tests <- data.frame(fit = c("study_lrt", "study_lrt", "study_lrt", "study_wald", "study_wald", "study_wald"),
                    measure = c("chisq_diff", "df_diff", "pvalue", "stat", "df", "pvalue"),
                    value = c(out$study_lrt$chisq_diff, out$study_lrt$df_diff, out$study_lrt$pvalue,
                              out$study_wald$stat, out$study_wald$df, out$study_wald$p.value))
write.csv(est, file.path(here, paste0(prefix, "reference_estimates.csv")), row.names = FALSE)
write.csv(rbind(fm, tests), file.path(here, paste0(prefix, "reference_fit.csv")), row.names = FALSE)
cat(out$study_lrt$method, "\n")
cat("lavaan", as.character(packageVersion("lavaan")), "seconds", out$seconds, "\n")
