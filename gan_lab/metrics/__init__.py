"""Generator metrics: FID, KID, IS, precision/recall over chosen features; mode-collapse benchmarks."""

from gan_lab.metrics.evaluator import METRICS, Evaluator, describe, lower_is_better

__all__ = ["METRICS", "Evaluator", "describe", "lower_is_better"]
