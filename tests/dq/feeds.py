"""The nightly organizations feed the occurrence tests import again and
again: ``HEADER`` then rows made from ``GOOD`` and ``BAD`` (an unknown
country) with ``.format(n=…)``."""

HEADER = "external_id,name,country,email\n"
GOOD = "A-{n},Org {n},DE,info{n}@example.org\n"
BAD = "A-{n},Org {n},XX,info{n}@example.org\n"
