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
    items = reverse_coded(responses, codebook, construct)
    answered = items.notna().sum(axis=1)
    enough = answered >= np.ceil(codebook.min_share_items_answered * items.shape[1])
    return items.mean(axis=1).where(enough).rename(construct)


def score_constructs(responses: pd.DataFrame, codebook: Codebook, constructs=None) -> pd.DataFrame:
    constructs = list(constructs or codebook.student_constructs)
    return pd.concat([score_construct(responses, codebook, c) for c in constructs], axis=1)


def score_teacher_scales(teachers: pd.DataFrame, codebook: Codebook) -> pd.DataFrame:
    """Teacher quality-area scores: mean of each area's items."""
    return pd.DataFrame({name: teachers[spec["items"]].astype(float).mean(axis=1)
                         for name, spec in codebook.teacher_scales.items()}, index=teachers.index)
