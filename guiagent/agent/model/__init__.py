"""Model specs, loading, placement, the processor and the offline tiny checkpoints."""
