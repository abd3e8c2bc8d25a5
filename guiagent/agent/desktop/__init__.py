"""The real desktop: screen capture, the input executor, the emergency stop, the demo app."""
