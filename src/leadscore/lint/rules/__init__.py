"""The lint rules, one module per area; importing this package registers them all."""

from . import conditions, points, regexes, structure  # noqa: F401 - importing registers the rules
