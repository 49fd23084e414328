"""Step 3: in-file dedupe. An exact repeat of an earlier row of the file is
skipped; the same external id with other values is quarantined as
duplicate_in_file. Earlier chunks are remembered compactly (``ingest.seen``)."""

from __future__ import annotations

from ingest import fields as rules
from ingest.registry import Target
from ingest.seen import SeenKeys, key64
from ingest.steps.types import MATCHED_IN_FILE, Row


class InFileDedupe:
    def __init__(self, target: Target) -> None:
        self.external_id_field = target.external_id_field
        self.seen = SeenKeys()

    def dedupe(self, rows: list[Row]) -> list[Row]:
        """Returns the rows seen first here."""
        keys = [key64(row.external_id) for row in rows]
        earlier = self.seen.lookup(keys)
        in_chunk: dict[int, tuple[int, int]] = {}
        new_hashes: list[int] = []
        new_numbers: list[int] = []
        kept = []
        for row, key, seen in zip(rows, keys, earlier):
            hash64 = _hash64(row.payload_hash)
            seen = seen or in_chunk.get(key)
            if seen is None:
                in_chunk[key] = (hash64, row.number)
                new_hashes.append(hash64)
                new_numbers.append(row.number)
                kept.append(row)
            elif seen[0] == hash64:
                row.skip()
                row.matched_by = MATCHED_IN_FILE
                row.matched_key = row.external_id
            else:
                message = rules.MSG_DUPLICATE_IN_FILE.format(
                    external_id=row.external_id, first_row=seen[1]
                )
                row.quarantine(
                    [rules.error(self.external_id_field, rules.DUPLICATE_IN_FILE, message)]
                )
        self.seen.add(list(in_chunk), new_hashes, new_numbers)
        return kept

    def unseen(self, rows: list[Row]) -> list[int] | None:
        """The rows' keys when each is the first row of its external id in
        the file (none seen in an earlier chunk, none twice among ``rows``),
        else None. The column-wise engine's lane takes only such chunks,
        and then ``remember``s them as ``dedupe`` would."""
        keys = [key64(row.external_id) for row in rows]
        if len(set(keys)) != len(keys) or any(self.seen.lookup(keys)):
            return None
        return keys

    def remember(self, keys: list[int], payload_hashes: list[str], rows: list[Row]) -> None:
        self.seen.add(keys, list(map(_hash64, payload_hashes)), [row.number for row in rows])


def _hash64(payload_hash: str) -> int:
    """What the tracker keeps of a row's payload hash: its first 64 bits."""
    return int(payload_hash[:16], 16)
