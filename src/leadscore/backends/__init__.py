"""Backends: translate the IR into something that runs (Python source, SQL)."""
