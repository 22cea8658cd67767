import os
from pathlib import Path

import pytest
import yaml

# One BLAS thread in the test process, as Snakemake gives every job: the session's builds run
# beside the tests on the same cores, where a second BLAS thread only waits for a core (and
# spins while it waits: the numerical tests took 15% more CPU time with two).
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def lavaan_r() -> str:
    """Rscript of an R with lavaan (the reference implementation), or the test is skipped."""
    import shutil
    import subprocess

    rscript = shutil.which("Rscript")
    if rscript is None or subprocess.run([rscript, "-e", "library(lavaan)"], capture_output=True).returncode:
        pytest.skip("R with lavaan is not installed")
    return rscript


@pytest.fixture(scope="session")
def lavaan_version(lavaan_r) -> tuple[int, ...]:
    """The version of that lavaan, e.g. (0, 6, 14)."""
    import subprocess

    out = subprocess.run([lavaan_r, "-e", 'cat(as.character(packageVersion("lavaan")))'], capture_output=True,
                         text=True, check=True).stdout
    return tuple(int(x) for x in out.strip().replace("-", ".").split("."))


@pytest.fixture(scope="session")
def codebook():
    from lwo.codebook import Codebook
    return Codebook.load(REPO / "config" / "codebook.yaml")


@pytest.fixture(scope="session")
def population_model():
    with open(REPO / "config" / "population_model.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@pytest.fixture(scope="session")
def population(population_model, codebook):
    from lwo.population import build_population
    return build_population(population_model, codebook)


@pytest.fixture(scope="session")
def cohort(population_model, codebook, population):
    """The default synthetic cohort (892 students, default seed)."""
    from lwo.synthetic import generate_cohort
    return generate_cohort(population_model, codebook, seed=20180901, population=population)


# The real workflow built in private copies of the repository, once per test session
# (tests/workflow_build.py). Every kind of build the collected tests need starts in the
# background as the session starts; the tests that read a build run after the others, so the
# rest of the suite runs while the builds do.
def _build_fixture(name: str, doc: str):
    @pytest.fixture(scope="session", name=name)
    def fixture(request, tmp_path_factory):
        from workflow_build import finished_build

        return finished_build(tmp_path_factory, name, *_export_source(request, name))
    fixture.__doc__ = doc
    return fixture


default_build = _build_fixture(
    "default_build", "The default build (`snakemake --cores 4`) in a temporary copy; read it, dry-run in "
    "it, or `workflow_build.clone_build` it before changing anything.")
cores1_build = _build_fixture("cores1_build", "A second, independent build in another folder, with `--cores 1`.")
worked_example_build = _build_fixture(
    "worked_example_build", "The worked example, built with the README's command: the cohort's students table "
    "alone, 20% of the item answers blank.")
small_district_build = _build_fixture(
    "small_district_build", "A 150-student, one-school export of all four tables (5% of item answers "
    "blank), built with a plain `snakemake --cores 2`.")

_NEEDED_BUILDS: list[str] = []


def _builds(item) -> list[str]:
    from workflow_build import BUILDS

    return [name for name in BUILDS if name in getattr(item, "fixturenames", ())]


def _phase(item) -> tuple[int, int]:
    """0: a test that starts background runs (tests/slurm: they mostly wait on the scheduler);
    1: needs no build (runs while the builds do); 2: reads the default build (it runs ahead of the
    others); 3: reads other builds, those of higher priority (lower niceness: done sooner) first;
    4: reads a background run (long finished by then)."""
    from workflow_build import BUILDS

    if item.get_closest_marker("reads_background_run"):
        return 4, 0
    if "background_runs" in getattr(item, "fixturenames", ()):
        return 0, 0
    builds = _builds(item)
    if not builds:
        return 1, 0
    return (2, 0) if builds == ["default_build"] else (3, max(BUILDS[b].nice for b in builds))


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Order the session by `_phase` (stable otherwise)."""
    items[:] = sorted(items, key=_phase)


def pytest_collection_finish(session):
    """The builds the tests that will run need (after every deselection)."""
    from workflow_build import BUILDS

    needed = {name for item in session.items for name in _builds(item)}
    _NEEDED_BUILDS[:] = [name for name in BUILDS if name in needed]


def _export_source(request, name: str) -> tuple:
    """(cohort, codebook) for a build of an export of the default cohort, else (None, None)."""
    from workflow_build import BUILDS

    if BUILDS[name].export is None:
        return None, None
    return request.getfixturevalue("cohort"), request.getfixturevalue("codebook")


@pytest.fixture(scope="session", autouse=True)
def _start_builds(request, tmp_path_factory):
    from workflow_build import start_build

    for name in _NEEDED_BUILDS:
        start_build(tmp_path_factory, name, *_export_source(request, name))


def pytest_configure(config):
    """A terminated run (SIGTERM, as from a CI time limit) ends like an interrupted one, so that
    pytest_sessionfinish and the session fixtures' teardown stop the background builds and the
    Slurm runs: they live in sessions of their own and would outlive the run."""
    import signal

    signal.signal(signal.SIGTERM, signal.default_int_handler)


def pytest_sessionfinish(session, exitstatus):
    import sys

    if "workflow_build" in sys.modules:
        sys.modules["workflow_build"].stop_pending_builds()
