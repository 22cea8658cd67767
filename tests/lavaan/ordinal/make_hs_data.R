# Writes hs_ordinal.csv: lavaan's HolzingerSwineford1939 x1-x9 cut into 4 ordered
# categories (cut points on the z-scale chosen to give skewed, ceiling-like margins), and
# x7-x9 uncut as c7-c9 (continuous indicators for the mixed ordinal/continuous model), and
# two covariates for the structural model: female (0/1) and age in years.
library(lavaan)
hs <- HolzingerSwineford1939
out <- data.frame(school = hs$school)
for (v in paste0("x", 1:9)) {
  z <- as.numeric(scale(hs[[v]]))
  out[[v]] <- findInterval(z, c(-1.1, -0.3, 0.6)) + 1L
}
for (k in 7:9) out[[paste0("c", k)]] <- hs[[paste0("x", k)]]
out$female <- as.integer(hs$sex == 2)
out$age <- hs$ageyr + hs$agemo / 12
write.csv(out, "hs_ordinal.csv", row.names = FALSE)
