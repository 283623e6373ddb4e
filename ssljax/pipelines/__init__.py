"""Pipelines: jobs made of several training runs (stages) that build on each other: self-training rounds, knowledge
distillation, Noisy Student, co-training. Each module provides CHECKS, check_config(config) and
run(config, workdir) -> results; ssljax.jobs runs them (its PIPELINES table)."""
