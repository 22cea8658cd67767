"""Scale scores from item responses, as the codebook defines them."""
from __future__ import annotations

import numpy as np
import pandas as pd

from lwo.codebook import Codebook


def reverse_coded(responses: pd.DataFrame, codebook: Codebook, construct: str) -> pd.DataFrame:
    """The construct's item responses with reverse-worded items flipped (1 <-> 4, 2 <-> 3)."""
    items = codebook.items(construct)
    out = responses[[i.id for i in items]].astype(float)
    flip = codebook.scale_min + codebook.scale_max
    for i in items:
        if i.reverse:
            out[i.id] = flip - out[i.id]
    return out


def score_construct(responses: pd.DataFrame, codebook: Codebook, construct: str) -> pd.Series:
    """Mean of the answered items; missing where fewer than the codebook's minimum share of
    items is answered."""
    return _mean_if_enough(reverse_coded(responses, codebook, construct), codebook).rename(construct)


def _mean_if_enough(items: pd.DataFrame, codebook: Codebook) -> pd.Series:
    """Row means, missing where fewer than the codebook's minimum share of items is answered."""
    answered = items.notna().sum(axis=1)
    enough = answered >= min_items_answered(codebook, items.shape[1])
    return items.mean(axis=1).where(enough)


def min_items_answered(codebook: Codebook, n_items: int) -> int:
    """The fewest answered items that make a scale score (student and teacher scales alike)."""
    return int(np.ceil(codebook.min_share_items_answered * n_items))


def score_constructs(responses: pd.DataFrame, codebook: Codebook, constructs=None) -> pd.DataFrame:
    constructs = list(constructs or codebook.student_constructs)
    return pd.concat([score_construct(responses, codebook, c) for c in constructs], axis=1)


def score_teacher_scales(teachers: pd.DataFrame, codebook: Codebook) -> pd.DataFrame:
    """Teacher quality-area scores: mean of each area's answered items, missing where fewer than
    the codebook's minimum share is answered (the student scales' rule)."""
    return pd.DataFrame({name: _mean_if_enough(teachers[spec["items"]].astype(float), codebook)
                         for name, spec in codebook.teacher_scales.items()}, index=teachers.index)
