"""Commands: one module per CLI command, each a short list of stages over a run context. No command imports another."""
