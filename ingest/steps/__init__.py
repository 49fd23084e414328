"""The row steps, one module each, in the order ``ingest.pipeline`` runs
them: ``read`` (value mappings, external id) → ``validate`` → ``dedupe``
(in-file) → ``references`` → ``identity`` (which merges each row as it is
resolved: ``merge``) → ``write``. ``types`` holds what they pass along (Row,
Record, Counts, the outcomes) and ``policy`` what a dry run changes.

Each step calls down into its helpers (``ingest.fields``, ``ingest.resolve``,
``ingest.survivorship``, ``ingest.seen``, ``ingest.writers``), never back
into the pipeline or another step.
"""
