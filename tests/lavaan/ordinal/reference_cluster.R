# Reference values for the cluster-robust WLSMV fits of tests/test_sem_ordinal_cluster.py:
# lavaan's cfa/sem(..., ordered, estimator = "WLSMV", cluster = "cls"), which needs lavaan >= 0.7-2
# (lavaan 0.6 ignores cluster = with ordered data; Debian's r-cran-lavaan is 0.6.14). Made with
# lavaan 0.7-2.3170 (git 828e6ec0), installed from its source into a library of its own:
#   R CMD INSTALL -l ~/R-lavaan07 <lavaan source>
#   R_LIBS=~/R-lavaan07 Rscript tests/lavaan/ordinal/reference_cluster.R      (from the repository root)
# Reads the committed hs_ordinal.csv (make_hs_data.R); the clusters are runs of ten consecutive
# rows (31 clusters, one of them holding students of both schools). Writes ref_cluster_*.csv.
suppressMessages(library(lavaan))
if (packageVersion("lavaan") < "0.7.2") stop("lavaan >= 0.7-2 is needed (cluster-robust WLSMV); this is ",
                                             packageVersion("lavaan"))
here <- if (interactive()) "." else dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE)))
hs <- read.csv(file.path(here, "hs_ordinal.csv"))
hs$cls <- (seq_len(nrow(hs)) - 1) %/% 10

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
hs_sem <- '
visual =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
visual ~ female + age
textual ~ a*visual + female + age
c7 ~ b*textual + visual + female + age
ind := a*b
'
hs_sem_mg <- '
visual =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
visual ~ female + age
textual ~ c(a1, a2)*visual + female + age
c7 ~ c(b1, b2)*textual + visual + female + age
'
hs_ov <- paste0("x", 1:9)
# (lavaan 0.7 changed group.equal = "thresholds" for ordered items: the sequence here is the one
# that lavaan 0.6.14, 0.7-2 and lwo.sem agree on without clusters)
steps <- list(configural = "", loadings = "loadings")
wlsmv <- function(fun, model, ...) suppressWarnings(fun(model, data = hs, estimator = "WLSMV", cluster = "cls", ...))

fits <- list()
fits$c_hs1 <- wlsmv(cfa, hs_model, ordered = hs_ov)
fits$c_hs_mixed <- wlsmv(cfa, hs_mixed, ordered = paste0("x", 1:6))
# lavaan warns that female's (0/1) mean and variance scores are collinear (generalized inverse)
fits$c_hs_sem <- wlsmv(sem, hs_sem, ordered = paste0("x", 1:6), conditional.x = FALSE, fixed.x = TRUE)
for (s in names(steps)) {
  # lavaan numbers clusters within each group
  fits[[paste0("c_hs2_", s)]] <- wlsmv(cfa, hs_cfa, ordered = hs_ov, group = "school", group.equal = steps[[s]])
}
mg <- function(model) wlsmv(sem, model, ordered = paste0("x", 1:6), conditional.x = FALSE, fixed.x = TRUE,
                            group = "school", group.equal = "loadings", group.partial = "visual=~x3")
fits$c_hs_sem_mg <- mg(hs_sem_mg)
fits$c_hs_sem_mg_a <- mg(sub("c\\(a1, a2\\)", "c(a, a)", hs_sem_mg))
for (name in names(fits)) stopifnot(lavInspect(fits[[name]], "options")$se == "robust.cluster.sem")

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
  fitm[[name]] <- data.frame(model = name, measure = names(fm), value = unname(fm))
}
write.csv(do.call(rbind, est), file.path(here, "ref_cluster_estimates.csv"), row.names = FALSE)
write.csv(do.call(rbind, fitm), file.path(here, "ref_cluster_fit.csv"), row.names = FALSE)

lrt <- list()
m <- fits[paste0("c_hs2_", names(steps))]
tab <- suppressWarnings(do.call(lavTestLRT, c(unname(m), list(model.names = names(steps)))))
lrt$c_hs2 <- data.frame(sequence = "c_hs2", model = rownames(tab), Df = tab$Df, Chisq = tab$Chisq,
                        chisq.diff = tab[["Chisq diff"]], df.diff = tab[["Df diff"]], pvalue = tab[["Pr(>Chisq)"]])
tab <- suppressWarnings(lavTestLRT(fits$c_hs_sem_mg, fits$c_hs_sem_mg_a))
wald <- lavTestWald(fits$c_hs_sem_mg, "a1 == a2")
lrt$c_hs_sem_mg <- data.frame(sequence = "c_hs_sem_mg", model = c("c_hs_sem_mg", "c_hs_sem_mg_a", "wald"),
                              Df = c(tab$Df, wald$df), Chisq = c(tab$Chisq, wald$stat),
                              chisq.diff = c(tab[["Chisq diff"]], NA), df.diff = c(tab[["Df diff"]], NA),
                              pvalue = c(tab[["Pr(>Chisq)"]], wald$p.value))
write.csv(do.call(rbind, lrt), file.path(here, "ref_cluster_lrt.csv"), row.names = FALSE)

# the clustered NACOV of the first stage alone
for (name in c("c_hs1", "c_hs_mixed")) {
  write.csv(unname(lavInspect(fits[[name]], "gamma")), file.path(here, paste0("ref_", name, "_gamma.csv")),
            row.names = FALSE)
}
