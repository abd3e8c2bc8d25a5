"""Importers: benchmark layouts (AgentNetBench, AndroidControl, ScreenSpot-v2/Pro) read as trajectories."""
