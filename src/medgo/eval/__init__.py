"""Evaluation: tasks, metrics, backends, the eval stage."""
