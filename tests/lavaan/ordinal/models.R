# The models and the writers shared by reference.R (lavaan 0.6.14), reference_cluster.R (lavaan >= 0.7-2)
# and reference_wu_estabrook.R (lavaan >= 0.6-20), sourced by each.
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
# two groups as the Black-White comparison: group-specific path labels, equal loadings but one,
# and the model with one path equal (lavTestLRT and lavTestWald of that equality)
hs_sem_mg <- '
visual =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
visual ~ female + age
textual ~ c(a1, a2)*visual + female + age
c7 ~ c(b1, b2)*textual + visual + female + age
'
hs_ov <- paste0("x", 1:9)
measures <- c("npar", "chisq", "df", "pvalue", "chisq.scaled", "df.scaled", "pvalue.scaled",
              "chisq.scaling.factor", "baseline.chisq", "baseline.df", "baseline.chisq.scaled",
              "baseline.df.scaled", "baseline.chisq.scaling.factor", "cfi", "tli", "cfi.scaled",
              "tli.scaled", "rmsea", "rmsea.ci.lower", "rmsea.ci.upper", "rmsea.pvalue",
              "rmsea.scaled", "rmsea.ci.lower.scaled", "rmsea.ci.upper.scaled",
              "rmsea.pvalue.scaled", "srmr", "ntotal")

# parameterEstimates(standardized = TRUE) and fitMeasures() (with the scaled-shifted test's shift)
# of every fit, as estimates_file and fit_file
write_estimates_and_fit <- function(fits, estimates_file, fit_file) {
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
  write.csv(do.call(rbind, est), estimates_file, row.names = FALSE)
  write.csv(do.call(rbind, fitm), fit_file, row.names = FALSE)
}

# lavTestLRT of a sequence of fits, as rows of ref_*lrt.csv
lrt_rows <- function(sequence, fits, model_names) {
  tab <- suppressWarnings(do.call(lavTestLRT, c(unname(fits), list(model.names = model_names))))
  data.frame(sequence = sequence, model = rownames(tab), Df = tab$Df, Chisq = tab$Chisq,
             chisq.diff = tab[["Chisq diff"]], df.diff = tab[["Df diff"]], pvalue = tab[["Pr(>Chisq)"]])
}

# lavTestLRT of the two-group model with path a equal, and lavTestWald of a1 == a2 in the free one
equality_rows <- function(sequence, free, restricted) {
  tab <- suppressWarnings(lavTestLRT(free, restricted))
  wald <- lavTestWald(free, "a1 == a2")
  data.frame(sequence = sequence, model = c(sequence, paste0(sequence, "_a"), "wald"),
             Df = c(tab$Df, wald$df), Chisq = c(tab$Chisq, wald$stat),
             chisq.diff = c(tab[["Chisq diff"]], NA), df.diff = c(tab[["Df diff"]], NA),
             pvalue = c(tab[["Pr(>Chisq)"]], wald$p.value))
}
