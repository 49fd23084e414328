"""Reading files of records: CSV, JSON Lines (either gzip-compressed) and
workbooks (xlsx, xls, ods), all into the same rows.

``open_reader`` checks the file as a whole up front -- size, binary content,
encoding (the whole file is decoded once, block by block), format, delimiter
and header -- and raises ``FileError`` for anything wrong with it, so that a
run either fails before it writes anything or reads the file to its end.
Iterating the returned ``Reader`` then yields one ``ReadRow`` per record;
a record that cannot be read properly becomes a row with ``error`` set (the
pipeline quarantines it) instead of an exception, and a file of mostly such
rows fails while it is read (``damage``).

One concept per module: ``opening`` (open_reader), ``preview``
(preview_file: a file's header and first rows, for the upload form),
``sniff`` (binary refusal, gzip, encoding), ``text`` (re-reading a checked
text file in blocks and capped lines), ``csv`` (delimiter and header) and
``csv_rows`` (its rows, resync after a stray quote), ``jsonl``,
``spreadsheets`` and ``xlsx_chunks`` (workbooks), ``headers`` (matching a
header to target fields, shared by CSV and workbooks), ``rows`` (what
every reader yields).

Only what callers use is exported here: the reader, its rows, the preview,
the formats, and the argument checks an upload runs before a run is made.
"""

from ingest.readers.csv import delimiter_argument
from ingest.readers.headers import normalize_header
from ingest.readers.opening import FORMATS, open_reader
from ingest.readers.preview import preview_file
from ingest.readers.rows import Preview, Reader, ReadRow
from ingest.readers.sniff import encoding_name
from ingest.readers.spreadsheets import sheet_argument

__all__ = [
    "FORMATS",
    "Preview",
    "Reader",
    "ReadRow",
    "delimiter_argument",
    "encoding_name",
    "normalize_header",
    "open_reader",
    "preview_file",
    "sheet_argument",
]
