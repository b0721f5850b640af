"""Stages: each is `run(ctx)` over a RunContext, and records itself in the runlog."""
