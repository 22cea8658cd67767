"""Shared code of the Learning With Others pipeline: codebook, data contract, scoring,
synthetic cohort, statistics, SEM and exhibit output."""
