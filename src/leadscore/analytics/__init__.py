"""Closing the loop with outcomes: `calibrate` (how well a model ranks real conversions) and
`fit` (learn an integer-points scorecard from history).

Pure numerics live in `metrics` and `logistic`; reading tables and outcomes in `table`;
leak detection in `leaks`; candidate features and their `.score` conditions in `features`;
the scorecard writer in `scorecard`; reports in `calibrate`, `report` (HTML) and `svg`.
Everything here uses numpy (the `analytics` extra), imported only when a command runs.
"""
