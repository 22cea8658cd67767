# lavaan's chi-square difference tests (lavTestLRT) for the engine's LR tests to be checked against.
# Regenerate from the repository root:  Rscript tests/lavaan/lrt/lrt.R   (writes reference.csv)
#   holzinger_swineford: HS three-factor CFA by school, configural vs one loading equal
#   hqc_to_grades:       an RQ1 multi-group model as the pipeline saved it (spec.lavaan, its
#                        constrained version and model_data.csv.gz of one synthetic build)
suppressPackageStartupMessages(library(lavaan))
here <- "tests/lavaan/lrt"

row_of <- function(case, restricted, free) {
  t <- lavTestLRT(restricted, free)
  data.frame(case = case, lavaan = as.character(packageVersion("lavaan")),
             chisq_restricted = fitMeasures(restricted, "chisq"), chisq_free = fitMeasures(free, "chisq"),
             chisq_diff = t[["Chisq diff"]][2], df_diff = t[["Df diff"]][2], pvalue = t[["Pr(>Chisq)"]][2])
}

hs <- "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
hs_one <- sub("x1 + x2", "x1 + c(l2, l2)*x2", hs, fixed = TRUE)
configural <- cfa(hs, data = HolzingerSwineford1939, group = "school")
one <- cfa(hs_one, data = HolzingerSwineford1939, group = "school")
rows <- list(row_of("holzinger_swineford", one, configural))

dir <- file.path(here, "hqc_to_grades")
data <- read.csv(gzfile(file.path(dir, "model_data.csv.gz")))
free_spec <- paste(readLines(file.path(dir, "spec.lavaan")), collapse = "\n")
constrained_spec <- paste(readLines(file.path(dir, "constrained_specs.lavaan")), collapse = "\n")
fit_one <- function(spec) sem(spec, data = data, estimator = "ML", fixed.x = TRUE, meanstructure = TRUE,
                              group = "race", group.label = c("Black", "White"))
rows[[2]] <- row_of("hqc_to_grades", fit_one(constrained_spec), fit_one(free_spec))

out <- do.call(rbind, rows)
write.csv(out, file.path(here, "reference.csv"), row.names = FALSE)
print(out)
