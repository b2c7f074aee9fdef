"""Shared state for running several replicas of each process (docs/cluster.md).

Every part here is used only when its setting is present (DESTEK_REDIS_URL); without it the
processes keep their in-process behaviour, as `make run` has it.
"""
