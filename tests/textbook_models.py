"""Textbook models with published lavaan results, shared by the SEM tests (data: semopy.examples),
and lavaan's reference values committed under tests/lavaan/."""
from pathlib import Path

LAVAAN = Path(__file__).resolve().parent / "lavaan"


def lavaan_lrt(case: str) -> dict:
    """lavaan's lavTestLRT row for one case of tests/lavaan/lrt/reference.csv (made by lrt.R)."""
    import pandas as pd

    table = pd.read_csv(LAVAAN / "lrt" / "reference.csv").set_index("case")
    return table.loc[case].to_dict()

# Holzinger & Swineford (1939) three-factor CFA (lavaan tutorial)
HS_CFA = """
visual  =~ x1 + x2 + x3
textual =~ x4 + x5 + x6
speed   =~ x7 + x8 + x9
"""

# Bollen's Political Democracy SEM (lavaan tutorial)
PD_SEM = """
# measurement model
ind60 =~ x1 + x2 + x3
dem60 =~ y1 + y2 + y3 + y4
dem65 =~ y5 + y6 + y7 + y8
# regressions
dem60 ~ ind60
dem65 ~ ind60 + dem60
# residual correlations
y1 ~~ y5
y2 ~~ y4 + y6
y3 ~~ y7
y4 ~~ y8
y6 ~~ y8
"""
