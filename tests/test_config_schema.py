"""The config schema (workflow/schemas/config.schema.yaml) through Snakemake's validate, and
lwo.config_check.check_config, which applies the same schema and the checks a schema cannot
state, naming the key and its line."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from snakemake.utils import validate
from snakemake_interface_common.exceptions import WorkflowError

from lwo.config_check import check_config
from lwo.data import DataError

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
CONFIG = ROOT / "config" / "config.yaml"
TABLES = ("students", "classrooms", "teachers", "observations")


def shipped() -> dict:
    with open(CONFIG, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def files_mode(folder: Path, **paths) -> dict:
    config = shipped()
    config["data"] = {"source": "files", "files": {t: paths.get(t, f"data/real/{t}.csv") for t in TABLES}}
    for t in TABLES:
        target = folder / config["data"]["files"][t]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("x\n", encoding="utf-8")
    return config


def test_shipped_config_is_valid_and_defaults_do_not_change_it():
    config = shipped()
    filled = copy.deepcopy(config)
    validate(filled, str(SCHEMA))
    assert {k: filled[k] for k in config} == config


def test_defaults_fill_an_empty_config_like_the_shipped_one():
    """Both validators fill defaults; the defaults equal the shipped values (one truth)."""
    by_snakemake, by_check = {}, {}
    validate(by_snakemake, str(SCHEMA))
    check_config(by_check, "config.yaml", SCHEMA)
    expected = shipped()
    assert by_snakemake == by_check
    for key in ("synthetic", "bootstrap", "privacy", "samples", "codebook", "published_values"):
        assert by_snakemake[key] == expected[key], key
    assert by_snakemake["data"]["source"] == "synthetic"


# (change, key named by check_config); every one is refused by the schema itself
REFUSED = {
    "unknown top-level key": (lambda c: c.update(colour="red"), "colour"),
    "unknown nested key": (lambda c: c["bootstrap"].update(resample=10), "bootstrap.resample"),
    "seed is text": (lambda c: c["synthetic"].update(seed="abc"), "synthetic.seed"),
    "negative seed": (lambda c: c["synthetic"].update(seed=-1), "synthetic.seed"),
    "seed is a float": (lambda c: c["synthetic"].update(seed=1.5), "synthetic.seed"),
    "files mode without files": (lambda c: c.update(data={"source": "files"}), "data.files.students"),
    "files mode without the students table": (lambda c: (c["data"].update(source="files"),
                                                         c["data"]["files"].pop("students")),
                                              "data.files.students"),
    "unknown source": (lambda c: c["data"].update(source="database"), "data.source"),
    "unknown missing-data method": (lambda c: c["estimation"].update(missing="pairwise"), "estimation.missing"),
    "unknown estimator": (lambda c: c["estimation"].update(estimator="WLS"), "estimation.estimator"),
    "data file of another type": (lambda c: c["data"]["files"].update(students="data/real/students.xlsx"),
                                  "data.files.students"),
    "n_students below minimum": (lambda c: c["synthetic"].update(n_students=10), "synthetic.n_students"),
    "samples contains Asian": (lambda c: c.update(samples=["all", "Asian"]), "samples[1]"),
    "samples empty": (lambda c: c.update(samples=[]), "samples"),
    "samples repeated": (lambda c: c.update(samples=["all", "all"]), "samples"),
    "bootstrap.resamples 0": (lambda c: c["bootstrap"].update(resamples=0), "bootstrap.resamples"),
    "bootstrap.enabled text": (lambda c: c["bootstrap"].update(enabled="yes please"), "bootstrap.enabled"),
    "privacy.min_cell 0": (lambda c: c["privacy"].update(min_cell=0), "privacy.min_cell"),
}


@pytest.mark.parametrize("name", REFUSED)
def test_schema_refuses(name, tmp_path):
    change, key = REFUSED[name]
    config = shipped()
    change(config)
    with pytest.raises(WorkflowError) as by_snakemake:
        validate(copy.deepcopy(config), str(SCHEMA))
    assert key.split(".")[-1].split("[")[0] in str(by_snakemake.value)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    with pytest.raises(DataError) as by_check:
        check_config(config, path, SCHEMA, root=tmp_path)
    err = by_check.value
    assert err.column == key and f"key '{key}'" in str(err)
    assert str(err).startswith(str(path)) and "\n" not in str(err)
    assert err.rows, "the line of the key (or of its parent) is named"
    assert err.fix


def test_line_points_at_the_offending_key(tmp_path):
    path = tmp_path / "config.yaml"
    text = CONFIG.read_text(encoding="utf-8").replace("  resamples: 1000", "  resamples: 0")
    path.write_text(text, encoding="utf-8")
    expected = next(i for i, ln in enumerate(text.splitlines(), 1) if "resamples: 0" in ln)
    with pytest.raises(DataError) as err:
        check_config(yaml.safe_load(text), path, SCHEMA)
    assert err.value.rows == [expected]
    assert f"line(s) {expected}:" in str(err.value)


def test_files_mode_accepts_real_data_under_data_real(tmp_path):
    config = files_mode(tmp_path)
    assert check_config(config, "config.yaml", SCHEMA, root=tmp_path)["data"]["source"] == "files"


def test_files_mode_accepts_files_outside_the_repository(tmp_path):
    outside = tmp_path / "elsewhere"
    config = files_mode(tmp_path / "repo", **{t: str(outside / f"{t}.sav") for t in TABLES})
    check_config(config, "config.yaml", SCHEMA, root=tmp_path / "repo")


def test_files_mode_refuses_real_data_in_a_tracked_folder(tmp_path):
    config = files_mode(tmp_path, students="data/published/students.csv")
    with pytest.raises(DataError) as err:
        check_config(config, "config.yaml", SCHEMA, root=tmp_path)
    assert err.value.column == "data.files.students" and "data/real" in str(err.value)


def test_files_mode_refuses_a_missing_file(tmp_path):
    config = files_mode(tmp_path)
    (tmp_path / "data" / "real" / "observations.csv").unlink()
    with pytest.raises(DataError) as err:
        check_config(config, "config.yaml", SCHEMA, root=tmp_path)
    assert err.value.column == "data.files.observations" and "not found" in str(err.value)


def test_batch_size_larger_than_resamples_is_refused_beyond_the_schema():
    config = shipped()
    config["bootstrap"].update(resamples=100, batch_size=500)
    validate(copy.deepcopy(config), str(SCHEMA))  # the schema cannot compare two keys
    with pytest.raises(DataError) as err:
        check_config(config, "config.yaml", SCHEMA)
    assert err.value.column == "bootstrap.batch_size"


def test_a_cluster_column_the_students_table_lacks_is_refused_beyond_the_schema():
    config = shipped()
    config["estimation"].update(cluster="classroom")
    with pytest.raises(DataError) as err:
        check_config(config, CONFIG, SCHEMA, root=ROOT)
    assert err.value.column == "estimation.cluster" and "'classroom_id'" in str(err.value)
    config["estimation"].update(cluster="none")
    assert check_config(config, CONFIG, SCHEMA, root=ROOT)["estimation"]["cluster"] == "none"


def test_files_mode_accepts_the_students_table_alone(tmp_path):
    """A district's export often is the student survey alone: the other tables are optional."""
    config = files_mode(tmp_path)
    config["data"]["files"] = {"students": config["data"]["files"]["students"]}
    assert check_config(config, "config.yaml", SCHEMA, root=tmp_path)["data"]["files"] == {
        "students": "data/real/students.csv"}


def test_the_worked_example_config_is_valid_before_its_file_exists(tmp_path):
    """Its file is written by rule example_district under results/example/, so it need not exist yet."""
    config = shipped()
    with open(ROOT / "config" / "example_district.yaml", encoding="utf-8") as fh:
        config["data"] = yaml.safe_load(fh)["data"]
    assert check_config(config, "config.yaml", SCHEMA, root=tmp_path)["data"]["example"] is True
