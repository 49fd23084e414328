"""Column matching: which target field each column of a file probably
holds, when its header does not name the fields (a CRM export's "Company
Name", "Country Code", "Org ID"). Pure functions of names, so they are
tested alone; the upload form (runs.staging) shows what they suggest and
turns a person's choices back into a column map.

How a column is matched, the first rule that finds an untaken field winning:

1. A map given with the upload, then the source's remembered one (its
   profile's column map): previous decisions beat every guess below, and
   the reader reads a mapped column as its field (a column named as that
   field is then not read).
2. The column is named as a field (``normalize_header``, as the readers
   match it): unless a map sends another column there, the reader reads
   it as that field, so it goes before the guesses below.
3. The same name once case, separators and camelCase are set aside
   ("ExternalID", "E-mail").
4. A known synonym: the target's own (``Target.column_synonyms``), then
   the common ones below ("Company Name" -> name, "Org ID" -> external_id).
5. Either of the two after a leading word that names the record
   ("Company Phone", "Contact Email").
6. A close spelling ("Contry").

No two columns get one field; a column that matches nothing is left out
(the reader ignores unknown columns).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ingest import errors
from ingest.errors import UsageError
from ingest.readers.headers import normalize_header

# Why a field was suggested; the form says it in words (REASON_TEXT).
NAME = "name"
GIVEN = "given"
REMEMBERED = "remembered"
SIMILAR = "similar"
SYNONYM = "synonym"
CLOSE = "close"
REASON_TEXT = {
    NAME: "named as the field",
    GIVEN: "from the column map given",
    REMEMBERED: "remembered for this source",
    SIMILAR: "same name, other spelling",
    SYNONYM: "known synonym",
    CLOSE: "similar name",
}

# Synonyms of field names common to the records files are made of: a field
# the target does not have is never suggested. Written as people write
# headers; matched loosely (``loose_key``), so "Org-ID" and "org_id" are
# "Org ID". A target adds or overrides its own (Target.column_synonyms).
COMMON_SYNONYMS: dict[str, tuple[str, ...]] = {
    "external_id": (
        "ID",
        "Ext ID",
        "External Ref",
        "External Reference",
        "Reference",
        "Ref",
        "Record ID",
        "Source ID",
        "Org ID",
        "Organization ID",
        "Company ID",
        "Customer ID",
        "Customer Number",
        "Account ID",
        "Account Number",
        "Client ID",
        "Client Number",
        "Contact ID",
        "Person ID",
        "Key",
        "UID",
        "UUID",
    ),
    "name": (
        "Company",
        "Company Name",
        "Organization",
        "Organization Name",
        "Org Name",
        "Account Name",
        "Customer Name",
        "Client Name",
        "Legal Name",
        "Business Name",
        "Firm",
    ),
    "country": (
        "Country Code",
        "Country ISO",
        "ISO Country",
        "ISO Country Code",
        "Country ISO Code",
        "Ctry",
        "Cntry",
        "Nation",
        "Land",
    ),
    "registration_number": (
        "Registration",
        "Reg Number",
        "Registration Number",
        "Company Number",
        "Company Registration Number",
        "Trade Register Number",
        "Registry Number",
        "CRN",
    ),
    "website": ("Web", "URL", "Homepage", "Web Site", "Web Address", "WWW", "Site"),
    "email": ("Mail", "Email Address", "Mail Address"),
    "phone": (
        "Telephone",
        "Tel",
        "Phone Number",
        "Telephone Number",
        "Mobile",
        "Cell",
        "Contact Number",
    ),
    "industry": ("Sector", "Branch", "Line of Business", "Vertical"),
    "employees": (
        "Employee Count",
        "Number of Employees",
        "Employees Count",
        "Headcount",
        "Staff",
        "Staff Count",
    ),
    "founded": ("Founding Date", "Founded On", "Date Founded", "Established", "Incorporated"),
    "updated_at": (
        "Updated",
        "Last Updated",
        "Last Modified",
        "Modified",
        "Modified At",
        "Modified Date",
        "Changed",
        "Changed At",
        "Last Change",
        "Updated On",
        "Timestamp",
    ),
    "first_name": ("First", "Given Name", "Forename"),
    "last_name": ("Last", "Surname", "Family Name"),
    "title": ("Job Title", "Position", "Job", "Role", "Function"),
}

# Leading words that name the record a column belongs to ("Company Phone").
_RECORD_WORDS = (
    "company",
    "organization",
    "org",
    "account",
    "customer",
    "client",
    "contact",
    "person",
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_TOKEN = re.compile(r"[a-z0-9]+|#")
_SPELLINGS = {
    "no": "number",
    "nr": "number",
    "num": "number",
    "nbr": "number",
    "#": "number",
    "organisation": "organization",
}
CLOSE_CUTOFF = 0.85


def loose_key(name: str) -> str:
    """A column name with case, separators and camelCase set aside, and a
    few spellings made one ("No."/"Nr"/"#" -> number, organisation ->
    organization): "Customer No." and "customerNumber" are the same key."""
    return "".join(_words(name))


def _words(name: str) -> list[str]:
    return [_SPELLINGS.get(word, word) for word in _TOKEN.findall(_CAMEL.sub(" ", name).lower())]


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One column of the file and the field suggested for it (None: none)."""

    column: str
    field: str | None
    reason: str = ""

    @property
    def reason_text(self) -> str:
        return REASON_TEXT.get(self.reason, "")


@dataclass(frozen=True, slots=True)
class Matching:
    """The suggestion for every column, in file order, and the required
    fields no column got."""

    suggestions: list[Suggestion]
    unmatched_required: list[str] = field(default_factory=list)

    @property
    def column_map(self) -> dict[str, str]:
        """The suggestions as a column map: only the columns not already
        named as their field."""
        return column_map_of(
            columns=[s.column for s in self.suggestions],
            choices=[s.field for s in self.suggestions],
        )


def suggest(
    *,
    columns: Sequence[str],
    fields: Sequence[str],
    required: Sequence[str] = (),
    given: Mapping[str, str] | None = None,
    remembered: Mapping[str, str] | None = None,
    synonyms: Mapping[str, Sequence[str]] | None = None,
) -> Matching:
    """The field each of ``columns`` probably holds (see the module
    docstring for the rules and their order). ``given`` and ``remembered``
    are column maps (column -> field); their entries for columns the file
    does not have, or fields the target does not have, are ignored.
    ``synonyms``: the target's own, by field, before COMMON_SYNONYMS."""
    by_name = {normalize_header(name): name for name in fields}
    by_loose = {loose_key(name): name for name in fields}
    synonym_of = _synonym_index(fields, synonyms or {})
    chosen: list[tuple[str | None, str]] = [(None, "")] * len(columns)
    taken: set[str] = set()

    def take(index: int, name: str | None, reason: str) -> None:
        if name is not None and name not in taken and chosen[index][0] is None:
            chosen[index] = (name, reason)
            taken.add(name)

    mapped = {}
    for reason, column_map in ((GIVEN, given), (REMEMBERED, remembered)):
        for column, name in (column_map or {}).items():
            key = normalize_header(column)
            if key not in mapped and normalize_header(name) in by_name:
                mapped[key] = (by_name[normalize_header(name)], reason)
    keys = [normalize_header(column) for column in columns]
    for index, key in enumerate(keys):  # 1: previous decisions
        if key in mapped:
            take(index, *mapped[key])
    for index, key in enumerate(keys):  # 2: what the reader reads as a field unless mapped
        if key not in mapped:
            take(index, by_name.get(key), NAME)
    rules = (
        lambda column: (by_loose.get(loose_key(column)), SIMILAR),
        lambda column: (synonym_of.get(loose_key(column)), SYNONYM),
        lambda column: _after_record_word(column, by_loose, synonym_of),
        lambda column: (_close(column, by_loose), CLOSE),
    )
    for rule in rules:
        for index, column in enumerate(columns):
            if chosen[index][0] is None and column.strip():
                take(index, *rule(column))
    suggestions = [
        Suggestion(column, name, reason) for column, (name, reason) in zip(columns, chosen)
    ]
    return Matching(suggestions, [name for name in required if name not in taken])


def header_hints(
    *, fields: Sequence[str], synonyms: Mapping[str, Sequence[str]] | None = None
) -> dict[str, str]:
    """The synonyms as a column map (synonym -> field): given to the header
    search, they let it find a header like "Company Name, Country Code"
    below a report's title lines, as it finds one named as the fields. The
    fields' own names are in it too: a field a map sends a column to is
    not found by its own name (``headers.target_field_by_key``)."""
    hints: dict[str, str] = {name: name for name in fields}
    for table in (synonyms or {}, COMMON_SYNONYMS):
        for name, words in table.items():
            if name in fields:
                for word in words:
                    hints.setdefault(word, name)
    return hints


def _synonym_index(fields: Sequence[str], synonyms: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """Loose key of each synonym -> field, the target's own first, only for
    fields the target has."""
    index: dict[str, str] = {}
    for table in (synonyms, COMMON_SYNONYMS):
        for name, words in table.items():
            if name not in fields:
                continue
            for word in words:
                index.setdefault(loose_key(word), name)
    return index


def _after_record_word(
    column: str, by_loose: Mapping[str, str], synonym_of: Mapping[str, str]
) -> tuple[str | None, str]:
    words = _words(column)
    if len(words) > 1 and words[0] in _RECORD_WORDS:
        rest = "".join(words[1:])
        if rest in by_loose:
            return by_loose[rest], SIMILAR
        if rest in synonym_of:
            return synonym_of[rest], SYNONYM
    return None, ""


def _close(column: str, by_loose: Mapping[str, str]) -> str | None:
    key = loose_key(column)
    if len(key) < 4:  # short names are close to too much
        return None
    found = difflib.get_close_matches(key, list(by_loose), n=1, cutoff=CLOSE_CUTOFF)
    return by_loose[found[0]] if found else None


def column_map_of(*, columns: Sequence[str], choices: Sequence[str | None]) -> dict[str, str]:
    """The column map that makes a reader read each column as chosen: an
    entry for each column given a field other than the one it is named as."""
    return {
        column: choice
        for column, choice in zip(columns, choices)
        if choice and normalize_header(column) != normalize_header(choice)
    }


class ChoicesInvalid(UsageError):
    """A person's choices cannot be imported as they are: ``by_column``
    (column position -> message) and ``missing`` (required fields no
    column was given)."""

    def __init__(self, *, by_column: dict[int, str], missing: list[str]) -> None:
        message = errors.MATCH_REQUIRED_UNMATCHED.format(fields=", ".join(missing))
        if by_column:
            message = next(iter(by_column.values()))
        super().__init__(message)
        self.by_column = by_column
        self.missing = missing


def choices_check(
    *,
    columns: Sequence[str],
    choices: Sequence[str | None],
    fields: Sequence[str],
    required: Sequence[str] = (),
) -> dict[str, str]:
    """The column map of a person's choices (a field or None per column),
    once they can be imported: no field for two columns, a column named as
    a field is not left out unless another column is chosen for that field
    (else the reader would read it anyway), a nameless column gets no
    field, and every required field has a column. Raises ChoicesInvalid
    naming each problem."""
    by_name = {normalize_header(name): name for name in fields}
    chosen = {choice for choice in choices if choice}
    by_column: dict[int, str] = {}
    columns_of: dict[str, list[int]] = {}
    for index, (column, choice) in enumerate(zip(columns, choices)):
        own = by_name.get(normalize_header(column))
        if choice and not column.strip():
            by_column[index] = errors.MATCH_BLANK_COLUMN
        elif choice is None and own is not None and own not in chosen:
            by_column[index] = errors.MATCH_NAMED_AS_FIELD.format(field=own)
        read_as = choice or (own if own not in chosen else None)
        if read_as:
            columns_of.setdefault(read_as, []).append(index)
    for name, indexes in columns_of.items():
        if len(indexes) > 1:
            named = ", ".join(repr(columns[i]) for i in indexes)
            for index in indexes:
                by_column.setdefault(
                    index, errors.MATCH_FIELD_TWICE.format(field=name, columns=named)
                )
    missing = [name for name in required if name not in columns_of]
    if by_column or missing:
        raise ChoicesInvalid(by_column=dict(sorted(by_column.items())), missing=missing)
    return column_map_of(columns=columns, choices=choices)
