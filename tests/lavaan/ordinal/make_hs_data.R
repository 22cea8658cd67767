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

# hs_ordinal_holes.csv: the same data with unanswered items for missing = "pairwise" (fixed
# rules, no random numbers): x1-x6 and c7-c9 blank in one row in ten (MCAR; a different tenth
# per variable), x7-x9 blank more often for older students (MAR on age: about a fifth above
# 13.5 years, one in twenty-five below), age blank in three rows (lavaan then drops them: the
# covariates' moments are fixed) and two rows with no answer at all (dropped as empty).
holes <- out
row <- seq_len(nrow(holes))
for (k in seq_along(c(paste0("x", 1:6), paste0("c", 7:9)))) {
  v <- c(paste0("x", 1:6), paste0("c", 7:9))[k]
  holes[[v]][(row * 7 + k * 3) %% 10 == 0] <- NA
}
for (k in 7:9) {
  v <- paste0("x", k)
  holes[[v]][ifelse(holes$age > 13.5, (row * 3 + k) %% 5 == 0, (row * 11 + k) %% 25 == 0)] <- NA
}
holes$age[c(5, 77, 211)] <- NA
holes[c(40, 160), c(paste0("x", 1:9), paste0("c", 7:9))] <- NA
write.csv(holes, "hs_ordinal_holes.csv", row.names = FALSE)
