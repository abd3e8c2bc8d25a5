"""The trajectory format: records, screenshots, the recorder and the loader."""
