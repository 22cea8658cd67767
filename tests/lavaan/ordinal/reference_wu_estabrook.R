# Reference values for the Wu & Estabrook identification of equal thresholds across groups
# (lwo.sem.fit_ordinal(..., identification = "wu-estabrook")): lavaan's own since 0.6-20, where
# group.equal = "thresholds" frees the ordered items' intercepts in the later groups and keeps the
# latent means at 0 until "intercepts" is added (Debian's lavaan 0.6.14 does not). Made with lavaan
# 0.7-2.3170 (git 828e6ec0), installed from its source into a library of its own:
#   R CMD INSTALL -l ~/R-lavaan07 <lavaan source>
#   R_LIBS=~/R-lavaan07 Rscript tests/lavaan/ordinal/reference_wu_estabrook.R  (from the repository root)
# Sources models.R. Reads the committed hs_ordinal.csv (make_hs_data.R). Writes ref_we_*.csv.
suppressMessages(library(lavaan))
if (packageVersion("lavaan") < "0.6.20") stop("lavaan >= 0.6-20 is needed (its group.equal = \"thresholds\" ",
                                              "for ordered items); this is ", packageVersion("lavaan"))
here <- if (interactive()) "." else dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE)))
hs <- read.csv(file.path(here, "hs_ordinal.csv"))
source(file.path(here, "models.R"))

steps <- list(configural = "", thresholds = "thresholds",
              loadings = c("thresholds", "loadings"),
              intercepts = c("thresholds", "loadings", "intercepts"))
# two items cut in two (binary items keep their scale at 1 under equal thresholds)
hs_binary <- transform(hs, x1 = as.integer(x1 >= 3), x4 = as.integer(x4 >= 3))
wlsmv <- function(model, data = hs, ordered = hs_ov, ...) {
  suppressWarnings(cfa(model, data = data, ordered = ordered, estimator = "WLSMV", group = "school", ...))
}

fits <- list()
for (s in names(steps)) fits[[paste0("we_hs2_", s)]] <- wlsmv(hs_cfa, group.equal = steps[[s]])
# continuous indicators: "thresholds" no longer equalises their intercepts
fits$we_hs_mixed_thresholds <- wlsmv(hs_mixed, ordered = paste0("x", 1:6), group.equal = "thresholds")
fits$we_hs_binary_thresholds <- wlsmv(hs_cfa, data = hs_binary, group.equal = "thresholds")
# with clusters (runs of ten rows, as reference_cluster.R; lavaan numbers them within each group)
hs_cls <- transform(hs, cls = (seq_len(nrow(hs)) - 1) %/% 10)
for (s in c("configural", "thresholds")) {
  fits[[paste0("we_c_hs2_", s)]] <- wlsmv(hs_cfa, data = hs_cls, group.equal = steps[[s]], cluster = "cls")
}
write_estimates_and_fit(fits, file.path(here, "ref_we_estimates.csv"), file.path(here, "ref_we_fit.csv"))

# every threshold of x2 freed: lavaan also keeps x2's intercept and scale free in the second
# group, which its thresholds then leave unidentified (lwo.sem fixes both; same chi-square)
partial <- wlsmv(hs_cfa, group.equal = "thresholds", group.partial = paste0("x2|t", 1:3))
fm <- fitMeasures(partial, c("npar", "df", "chisq"))
lrt <- rbind(lrt_rows("we_hs2", fits[paste0("we_hs2_", names(steps))], names(steps)),
             lrt_rows("we_c_hs2", fits[c("we_c_hs2_configural", "we_c_hs2_thresholds")], names(steps)[1:2]),
             data.frame(sequence = "we_hs2_partial_x2", model = "thresholds_partial_x2", Df = fm[["df"]],
                        Chisq = fm[["chisq"]], chisq.diff = NA, df.diff = NA, pvalue = NA))
write.csv(lrt, file.path(here, "ref_we_lrt.csv"), row.names = FALSE)
