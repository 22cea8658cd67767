# Writes hs_ordinal.csv: lavaan's HolzingerSwineford1939 x1-x9 cut into 4 ordered
# categories (cut points on the z-scale chosen to give skewed, ceiling-like margins).
library(lavaan)
hs <- HolzingerSwineford1939
out <- data.frame(school = hs$school)
for (v in paste0("x", 1:9)) {
  z <- as.numeric(scale(hs[[v]]))
  out[[v]] <- findInterval(z, c(-1.1, -0.3, 0.6)) + 1L
}
write.csv(out, "hs_ordinal.csv", row.names = FALSE)
