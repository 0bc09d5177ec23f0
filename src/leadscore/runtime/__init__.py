"""Runtime: loading data, running a compiled model on an engine, writing results."""
