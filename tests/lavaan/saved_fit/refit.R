# Refit one saved RQ1 fit (results/models/<sample>/<model>/) with the lavaan call it states,
# and write lavaan's numbers for tests/test_estimation.py:
#   Rscript tests/lavaan/saved_fit/refit.R <fit directory> '<lavaan call>' <output directory>
# writes lavaan_estimates.csv (parameterEstimates + std.all) and lavaan_fit.csv (fitMeasures).
# The committed reference (a copy of the default build's all/hqc_to_grades fit: 869 students, 8 of them
# missing a control, so missing = "ml.x" integrates over it) regenerates with
#   cd tests/lavaan/saved_fit && Rscript refit.R . "$(cat call.txt)" .
# and lavaan 0.7-2's numbers (lavaan07/: its log-likelihood differs from 0.6's where a control has
# holes, as here), with lavaan 0.7-2.3170 built from its source into ~/R-lavaan07:
#   cd tests/lavaan/saved_fit && R_LIBS=~/R-lavaan07 Rscript refit.R . "$(cat call.txt)" lavaan07
suppressMessages(library(lavaan))
args <- commandArgs(trailingOnly = TRUE)
data <- read.csv(gzfile(file.path(args[1], "model_data.csv.gz")))
model <- paste(readLines(file.path(args[1], "spec.lavaan")), collapse = "\n")
fit <- eval(parse(text = args[2]))  # (the call, after any lines it needs)
est <- parameterEstimates(fit, standardized = TRUE)
write.csv(est[, intersect(c("lhs", "op", "rhs", "group", "est", "se", "std.all"), names(est))],
          file.path(args[3], "lavaan_estimates.csv"), row.names = FALSE)
measures <- c("chisq", "df", "cfi", "tli", "rmsea", "srmr", "chisq.scaled", "chisq.scaling.factor",
              "cfi.robust", "tli.robust", "rmsea.robust", "ntotal", "logl")
# without an unrestricted model (its EM singular: a small group) fitMeasures() stops on the
# singular h1 information; the likelihood and N are the fit's own
fm <- tryCatch(fitMeasures(fit), error = function(e) c(ntotal = lavInspect(fit, "ntotal"), logl = fit@loglik$loglik))
fm["ntotal"] <- lavInspect(fit, "ntotal")  # fitMeasures() of a WLSMV fit has none
write.csv(data.frame(measure = measures, value = as.numeric(fm[measures])), file.path(args[3], "lavaan_fit.csv"),
          row.names = FALSE)
