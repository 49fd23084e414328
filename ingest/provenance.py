"""Kept for ``core/migrations/0002_provenance_stored_once.py``, which names
this module's ``ProvenanceField``: applied migrations are not edited. The
field lives with the golden records, in core/provenance.py."""

from core.provenance import ProvenanceField

__all__ = ["ProvenanceField"]
