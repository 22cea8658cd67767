# Exhibits 3-7 and 11: the study's sites and samples.
