# Research question 1, measurement: reliability, CFA, measurement invariance (Exhibits 8-10).
