"""One figure style for every exhibit: colour-blind-safe (Okabe-Ito), no chart junk; and the
one way figures are saved. The only module that configures matplotlib."""
from __future__ import annotations

from pathlib import Path

import matplotlib
# the object API without pyplot: no backend machinery or figure registry to import (about
# 0.1 s of CPU per figure job) and nothing to close
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from lwo.io import atomic_path

# Okabe & Ito (2008), safe for the common colour-vision deficiencies
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
GROUP_COLOURS = {"all": "#000000", "Black": "#0072B2", "White": "#E69F00", "math": "#009E73",
                 "ela": "#CC79A7", "collaborative": "#0072B2", "other": "#999999"}

STYLE = {
    "figure.figsize": (7.0, 4.2),
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
    "savefig.facecolor": "white",
}


# keywords of Figure.subplots; the rest go to Figure (as pyplot.subplots splits them)
_SUBPLOTS_KEYWORDS = ("sharex", "sharey", "squeeze", "width_ratios", "height_ratios", "subplot_kw",
                      "gridspec_kw")


def new_figure(nrows: int = 1, ncols: int = 1, **kwargs):
    """A figure in the house style and its axes, as pyplot.subplots(nrows, ncols, **kwargs)."""
    matplotlib.rcParams.update(STYLE)
    fig = Figure(**{k: v for k, v in kwargs.items() if k not in _SUBPLOTS_KEYWORDS})
    FigureCanvasAgg(fig)
    return fig, fig.subplots(nrows, ncols, **{k: v for k, v in kwargs.items() if k in _SUBPLOTS_KEYWORDS})


def mark_data_source(fig, source_label: str) -> None:
    """Stamp every figure with its data source, so a synthetic figure is never mistaken for
    the study's."""
    fig.text(0.99, 0.01, source_label, ha="right", va="bottom", fontsize=7, color="#666666")


def save_figure(fig, path, close: bool = True) -> None:
    """PNG/SVG/PDF without creation dates or software stamps (byte-identical reruns)."""
    path = Path(path)
    suffix = path.suffix.lower()
    metadata = {"png": {"Software": None}, "svg": {"Date": None, "Creator": None},
                "pdf": {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None}}[suffix[1:]]
    with matplotlib.rc_context({"svg.hashsalt": "lwo", "pdf.compression": 6}):
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=suffix[1:], metadata=metadata, dpi=150, bbox_inches="tight")
    if close:
        fig.clear()  # free its artists: the caller is done with it
