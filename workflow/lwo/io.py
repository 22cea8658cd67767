"""Reading YAML; writing outputs atomically and byte-reproducibly.

Every table and figure is written to a temporary file beside its target and moved into place,
so a killed job never leaves a half-written output; numbers are formatted with a fixed format
and figures carry no timestamps, so the same inputs give the same bytes.
"""
from __future__ import annotations

import glob
import gzip
import json
import os
import re
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import yaml

FLOAT_FORMAT = "%.6f"
# libyaml's parser where PyYAML was built with it: the same data as the pure-Python one, ten times
# faster (every job reads the codebook)
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(source):
    """A YAML document (text or an open file) as plain data, as `yaml.safe_load` reads it."""
    return yaml.load(source, Loader=_YAML_LOADER)

PART_SUFFIX = ".part"


def _stale_parts(path: Path) -> list[Path]:
    """Temporary files of earlier writes of `path` (named by atomic_path), e.g. left by a writer
    that was killed: SIGKILL skips the clean-up below. Only one job writes a given output, one
    write at a time, so such a file is never a live write."""
    rx = re.compile(re.escape(f".{path.name}.") + r"[a-z0-9_]{8}" + re.escape(PART_SUFFIX))
    return [p for p in path.parent.glob(f".{glob.escape(path.name)}.*{PART_SUFFIX}") if rx.fullmatch(p.name)]


@contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path beside `path`; move it into place only if the block succeeds.

    The target therefore holds either its old bytes or the new ones, never a part; temporary
    files that an earlier, killed write of the same target left behind are removed first."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in _stale_parts(path):
        stale.unlink(missing_ok=True)
    # mkstemp adds 8 characters of [a-z0-9_] between prefix and suffix
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=PART_SUFFIX, dir=path.parent)
    os.close(fd)
    # mkstemp creates owner-only files; outputs get the usual permissions (umask applies)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_csv(df: pd.DataFrame, path, index: bool = False, float_format: str = FLOAT_FORMAT) -> None:
    text = df.to_csv(index=index, float_format=float_format, lineterminator="\n")
    data = text.encode("utf-8")
    if str(path).endswith(".gz"):
        # no timestamp and no file name in the gzip header, so reruns give the same bytes
        data = gzip.compress(data, compresslevel=6, mtime=0)
    with atomic_path(path) as tmp:
        Path(tmp).write_bytes(data)


def write_text(text: str, path) -> None:
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")


def write_json(obj, path) -> None:
    write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n", path)
