"""The stages of a full run, from the product page to the report, in order."""

from __future__ import annotations

from creative.stages import brief, budget, compose, export, generate, prompts, report, research

FULL_RUN = (research.run, brief.run, prompts.run, budget.run, generate.run, compose.run, export.run, report.run)
