"""AgentNetBench (xlang-ai/OpenCUA): the task-folder importer, our actions in its schema, and its two scorers."""
