"""Commands: each is a short list of stages over a run context. No command imports another."""
