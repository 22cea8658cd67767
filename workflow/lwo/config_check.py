"""Checking config/config.yaml before any job runs: the JSON schema
(workflow/schemas/config.schema.yaml, the same file Snakemake's `validate` reads) plus the rules a
schema cannot state, with one line naming the file, the key, its line and what to do.

Use in the Snakefile, after `validate(config, ...)`:  check_config(config, "config/config.yaml")
"""
from __future__ import annotations

import copy
import difflib
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import best_match

from lwo.codebook import Codebook, yaml_key_line
from lwo.errors import DataError
from lwo.io import read_yaml

SCHEMA = Path(__file__).resolve().parents[1] / "schemas" / "config.schema.yaml"
# the git-ignored folder for real (confidential) data; see .gitignore
REAL_DATA_DIR = "data/real"
# generated example files (rule example_district): not confidential, ignored by git as results are
EXAMPLE_DIR = "results/example"


def _with_defaults(validator_class):
    """A validator that fills in the schema's defaults as it goes (as Snakemake's validate does)."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if "default" in sub:
                    instance.setdefault(name, copy.deepcopy(sub["default"]))
        yield from validate_properties(validator, properties, instance, schema)

    return validators.extend(validator_class, {"properties": set_defaults})


def _key(path) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".") or "(top level)"


def _line(config_file, path) -> list[int]:
    """Line of the deepest key of `path` that the file spells out (keys from defaults or
    --config overrides have none)."""
    try:
        with open(config_file, encoding="utf-8") as fh:
            node = yaml.compose(fh)
    except (OSError, yaml.YAMLError):
        return []
    return yaml_key_line(node, path)


def _describe(error) -> tuple[list, str, str]:
    """(key path, what is wrong, what to do) of a schema violation."""
    path, kind, value = list(error.absolute_path), error.validator, error.validator_value
    if kind == "additionalProperties":
        allowed = list(error.schema.get("properties", {}))
        unknown = [k for k in error.instance if k not in allowed]
        close = difflib.get_close_matches(str(unknown[0]), allowed, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return path + [unknown[0]], f"unknown key{hint}", f"Allowed keys here: {allowed}"
    if kind == "required":
        missing = [k for k in value if k not in error.instance]
        return path + [missing[0]], "required key is missing", "Add it (see the comments in config/config.yaml)"
    if kind == "type":
        return path, f"expected {value}, found {error.instance!r}", f"Write a value of type {value}"
    if kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        word = "at least" if "inimum" in kind else "at most"
        return path, f"{error.instance!r} is out of range: it must be {word} {value}", "Change the value"
    if kind == "enum":
        return path, f"{error.instance!r} is not one of {value}", f"Use one of {value}"
    if kind == "pattern":
        return path, f"{error.instance!r} does not match the expected form", \
            "Data files must end in .csv, .sav or .dta" if "csv" in str(value) else f"Pattern: {value}"
    if kind == "minItems":
        return path, "the list is empty", "List at least one value"
    if kind == "uniqueItems":
        return path, f"the list {error.instance!r} repeats a value", "List each value once"
    return path, error.message, "See workflow/schemas/config.schema.yaml"


def check_config(config: dict, config_file="config/config.yaml", schema=SCHEMA, root=".") -> dict:
    """Validate `config` (filling in the schema's defaults, in place) and check what the schema
    cannot: bootstrap batches no larger than the number of resamples, and in data.source=files
    mode that every file exists and, inside the repository, lies in the git-ignored data/real/.
    Return the config; raise DataError naming config_file, the key and its line."""
    with open(schema, encoding="utf-8") as fh:
        schema_doc = read_yaml(fh)
    validator = _with_defaults(Draft202012Validator)(schema_doc)
    error = best_match(validator.iter_errors(config))
    if error is not None:
        path, message, fix = _describe(error)
        raise DataError(config_file, message, column=_key(path), rows=_line(config_file, path), fix=fix,
                        field="key")

    def fail(path, message, fix):
        raise DataError(config_file, message, column=_key(path), rows=_line(config_file, path), fix=fix,
                        field="key")

    boot = config["bootstrap"]
    if boot["batch_size"] > boot["resamples"]:
        fail(["bootstrap", "batch_size"], f"batch_size {boot['batch_size']} is larger than resamples "
             f"{boot['resamples']}", "Make batch_size at most resamples")
    if config["estimation"]["items"] == "ordinal" and boot["enabled"]:
        fail(["estimation", "items"], "the bootstrap refits the models with continuous items, so it cannot "
             "go with items: ordinal", "Use items: continuous, or set bootstrap: enabled: false")
    cluster = config["estimation"]["cluster"]
    if cluster != "none":
        codebook_file = Path(root) / config["codebook"]
        columns = Codebook.load(codebook_file).student_columns() if codebook_file.is_file() else [cluster]
        if cluster not in columns:
            close = difflib.get_close_matches(cluster, columns, n=1)
            fail(["estimation", "cluster"], f"{cluster!r} is not a column of the students table",
                 f"Use {close[0]!r}, another students column, or none" if close else "Use a students column or none")
    if config["data"]["source"] == "files":
        root = Path(root).resolve()
        for table, name in config["data"]["files"].items():
            path = Path(name) if Path(name).is_absolute() else root / name
            if path.resolve().is_relative_to(root / EXAMPLE_DIR):
                continue  # the worked example's files: generated by rule example_district, not confidential
            if not path.is_file():
                fail(["data", "files", table], f"file not found: {name}",
                     "Put the file there, or correct the path")
            inside = path.resolve().is_relative_to(root)
            if inside and not path.resolve().is_relative_to(root / REAL_DATA_DIR):
                fail(["data", "files", table], f"{name} lies inside the repository but outside {REAL_DATA_DIR}/",
                     f"Real data must stay in {REAL_DATA_DIR}/ (ignored by git) so it is never committed")
    return config
