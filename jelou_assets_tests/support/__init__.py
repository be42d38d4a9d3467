"""What the tests share: the project built for the default settings, references, processes and helpers."""
