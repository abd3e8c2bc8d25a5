"""The agent loop (observe, decide, check, act, record), its safety policy and console view."""
