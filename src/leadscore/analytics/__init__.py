"""Closing the loop with outcomes: `calibrate` (how well a model ranks real conversions) and
`fit` (learn an integer-points scorecard from history).

Pure numerics live in `metrics` and `logistic`; reading tables and outcomes in `table`;
leak detection in `leaks`; candidate features and their `.score` conditions in `features`;
the scorecard writer in `scorecard`; reports in `calibrate`, `report` (HTML) and `svg`;
back-tests (calibrate at past as_ofs, judged on the horizon after each) in `backtest`; funnel
velocity over a history table in `funnel`.
Everything here uses numpy (the `analytics` extra), imported only when a command runs, except
`funnel`'s text and JSON.
"""
