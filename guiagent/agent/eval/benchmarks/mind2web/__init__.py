"""Multimodal-Mind2Web: the per-step jsonl importer, our actions as Mind2Web operations, and its metric."""
