"""What a dry run changes, decided here once: the runner picks a run's
policy from its ``dry_run`` flag and hands it to everything that writes
(the pipeline's write step, the results ledger, the violation sink), so
none of them tests ``dry_run`` itself.

A dry run does all the work a standard run does, in one transaction that
is rolled back (as django-import-export does), so its counts and ledger
show exactly what the import would write.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class WritePolicy:
    # One transaction, rolled back at the end, in one partition; else a
    # checkpoint that commits with every chunk, in as many partitions as
    # the file is worth.
    rolls_back: bool
    # Lock a chunk's natural keys before resolving them, so a concurrent
    # writer of the same new key waits and then finds its record. A dry run
    # never commits, so no other writer can meet its records, and one
    # transaction holding every key of a large file would overflow
    # PostgreSQL's lock table.
    locks_natural_keys: bool
    # Write the id map. A dry run rolls back, and nothing in it reads its
    # own mappings: a later row with the same external id stops at the
    # in-file duplicate check, before any id-map look-up.
    writes_id_map: bool
    # The results ledger shows each row's would-be record values, and no
    # record id for a would-be insert (it is rolled back).
    ledger_shows_values: bool
    # The merge keeps the changed fields' values from before it (the
    # preview's old → new); a standard run never pays for the copy.
    keeps_previous_values: bool
    # Quarantined rows become read-only violations of the run alone
    # (``Violation.dry_run``), written after the rollback, instead of
    # occurrences of the source's open violations.
    violations_apart: bool


STANDARD = WritePolicy(
    rolls_back=False,
    locks_natural_keys=True,
    writes_id_map=True,
    ledger_shows_values=False,
    keeps_previous_values=False,
    violations_apart=False,
)
DRY_RUN = WritePolicy(
    rolls_back=True,
    locks_natural_keys=False,
    writes_id_map=False,
    ledger_shows_values=True,
    keeps_previous_values=True,
    violations_apart=True,
)


def write_policy(*, dry_run: bool) -> WritePolicy:
    return DRY_RUN if dry_run else STANDARD
