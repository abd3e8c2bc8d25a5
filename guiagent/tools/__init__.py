"""Tools beside the agent: the GPU check (bench, compress-check and demo move here with the layout of issue 13)."""
