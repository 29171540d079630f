"""The suite registry: the CLI (`medgo eval run --suite NAME`) and the eval stage look suites up here.

Adding a suite = a class with the `medgo.eval.suite.Suite` shape and one entry below (and, to run it in the
pipeline, a section of the same name in `config.schema.EvalConfig`)."""

from __future__ import annotations

from medgo.errors import ConfigError
from medgo.eval.suite import Suite


def _registry() -> dict[str, Suite]:
    from medgo.eval.classification import ClassificationSuite
    from medgo.eval.suites.cblue_run import CblueSuite
    from medgo.eval.suites.clinicalqa_run import ClinicalQASuite
    from medgo.eval.suites.exams_run import ExamsSuite

    return {"classification": ClassificationSuite(), "cblue": CblueSuite("cblue"),
            "promptcblue": CblueSuite("promptcblue"), "clinicalqa": ClinicalQASuite(), "exams": ExamsSuite()}


# The eval stage runs these, in this order, for each model whose config section is enabled.
STAGE_SUITES = ("classification", "cblue", "clinicalqa", "exams")


def get_suite(name: str) -> Suite:
    suites = _registry()
    if name not in suites:
        raise ConfigError(f"unknown suite {name!r}", hint=" | ".join(suites))
    return suites[name]


def suite_names() -> list[str]:
    return list(_registry())
