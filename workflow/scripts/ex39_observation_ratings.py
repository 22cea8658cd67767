"""Exhibit 39: classroom observations, ratings during collaborative groups vs other activities.

Each observed segment is rated on 16 items (two per quality area, 1-4). For each area (the
mean of its two items) and each item: a one-way ANCOVA of the rating on segment type
(collaborative vs other) with the visit's pre-rating as covariate, adjusted means, partial
eta squared, a Holm correction within each family (8 areas; 16 items), and a Wald F test
with classroom-clustered errors as the sensitivity check (segments are nested in
classrooms). The overall means rank the areas and items (the published "lowest" statements,
with the gap to the next one tested on classroom means). Classrooms with at least one
collaborative segment, by site, go to a second table (classrooms_by_site.csv).
"""
from lwo.descriptive_exhibits import build_exhibit_39
from lwo.runner import run


def main(sm):
    build_exhibit_39(
        classrooms=sm.input.classrooms,
        observations=sm.input.observations,
        summary=sm.input.summary,
        codebook=sm.input.codebook,
        published=sm.input.published,
        min_cell=sm.params.min_cell,
        outputs=dict(sm.output))


run(main, snakemake)  # noqa: F821 (injected by Snakemake)
