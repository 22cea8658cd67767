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
