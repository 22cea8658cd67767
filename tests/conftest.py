from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]


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
# (tests/workflow_build.py); a cold build takes about a minute.
@pytest.fixture(scope="session")
def default_build(tmp_path_factory):
    """The default build (`snakemake --cores 4`) in a temporary copy; read it, dry-run in it,
    or `workflow_build.clone_build` it before changing anything."""
    from workflow_build import built_workflow
    return built_workflow(tmp_path_factory)


@pytest.fixture(scope="session")
def cores1_build(tmp_path_factory):
    """A second, independent build in another folder, with `--cores 1`."""
    from workflow_build import second_build
    return second_build(tmp_path_factory)


def pytest_collection_modifyitems(config, items):
    """Start the second build in the background with the first when a collected test needs both."""
    import workflow_build

    if any("cores1_build" in getattr(item, "fixturenames", ()) for item in items):
        workflow_build.PRESTART.add("cores1")


def pytest_sessionfinish(session, exitstatus):
    import sys

    if "workflow_build" in sys.modules:
        sys.modules["workflow_build"].stop_pending_builds()
