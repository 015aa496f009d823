"""Geometry rule engine: desk layout standards (YAML) checked against items on the desk plane.

    standard = load_standard("rules/standards/front-counter.yaml")
    evaluation = evaluate(standard, desk_items, desk)
    evaluation.violations, evaluation.warnings, score(standard, evaluation)
"""

from pathlib import Path

from rules.engine import Evaluation, check_desk, confidence_threshold, evaluate, score
from rules.kinds import KINDS, RuleParams, register
from rules.standard import Standard, load_standard, parse_standard

# The standards shipped with the inspector, one YAML file per standard id.
STANDARDS_DIR = Path(__file__).parent / "standards"

__all__ = [
    "KINDS",
    "STANDARDS_DIR",
    "Evaluation",
    "RuleParams",
    "Standard",
    "check_desk",
    "confidence_threshold",
    "evaluate",
    "load_standard",
    "parse_standard",
    "register",
    "score",
]
