"""Signals other apps listen to, so a run's code need not know them."""

from django.dispatch import Signal

# Sent once when a run reaches a finished status (succeeded, partial,
# failed, cancelled), by whoever moved it there; ``run`` is the ImportRun.
# dq listens to release the violations a remediation run did not reach.
run_finished = Signal()
