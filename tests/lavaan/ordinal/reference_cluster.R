# Reference values for the cluster-robust WLSMV fits of tests/test_sem_ordinal_cluster.py:
# lavaan's cfa/sem(..., ordered, estimator = "WLSMV", cluster = "cls"), which needs lavaan >= 0.7-2
# (lavaan 0.6 ignores cluster = with ordered data; Debian's r-cran-lavaan is 0.6.14). Made with
# lavaan 0.7-2.3170 (git 828e6ec0), installed from its source into a library of its own:
#   R CMD INSTALL -l ~/R-lavaan07 <lavaan source>
#   R_LIBS=~/R-lavaan07 Rscript tests/lavaan/ordinal/reference_cluster.R      (from the repository root)
# Sources models.R (shared with reference.R). Reads the committed hs_ordinal.csv (make_hs_data.R);
# the clusters are runs of ten consecutive rows (31 clusters, one of them holding students of both
# schools). Writes ref_cluster_*.csv and ref_c_*_gamma.csv.
suppressMessages(library(lavaan))
if (packageVersion("lavaan") < "0.7.2") stop("lavaan >= 0.7-2 is needed (cluster-robust WLSMV); this is ",
                                             packageVersion("lavaan"))
here <- if (interactive()) "." else dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE)))
hs <- read.csv(file.path(here, "hs_ordinal.csv"))
hs$cls <- (seq_len(nrow(hs)) - 1) %/% 10

source(file.path(here, "models.R"))
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

write_estimates_and_fit(fits, file.path(here, "ref_cluster_estimates.csv"), file.path(here, "ref_cluster_fit.csv"))

lrt <- list(c_hs2 = lrt_rows("c_hs2", fits[paste0("c_hs2_", names(steps))], names(steps)),
            c_hs_sem_mg = equality_rows("c_hs_sem_mg", fits$c_hs_sem_mg, fits$c_hs_sem_mg_a))
write.csv(do.call(rbind, lrt), file.path(here, "ref_cluster_lrt.csv"), row.names = FALSE)

# the clustered NACOV of the first stage alone
for (name in c("c_hs1", "c_hs_mixed")) {
  write.csv(unname(lavInspect(fits[[name]], "gamma")), file.path(here, paste0("ref_", name, "_gamma.csv")),
            row.names = FALSE)
}
