"""Values as web pages, spreadsheets and CRMs write them: invisible
characters copied around a value, websites without their scheme. Through
the real pipeline, twice: the second import of the same file is skipped row
by row, so trimming and hashing agree."""

import pytest

from core.models import Organization
from ingest.models import ExternalIdMap
from tests.importing import import_checked

FILE = (
    "external_id,name,country,website,employees\n"
    "\u200bORG-1\u200b,\u00a0Acme\u2060,\ufeffde,www.acme.example,1200.0\n"
    "ORG-2,Globex,FR,globex.example/fr,12500\n"
).encode()


@pytest.mark.django_db
def test_copied_values_are_imported_as_meant_and_the_same_file_again_is_skipped():
    first = import_checked(FILE)
    assert first.counts == (2, 2, 0), first.messages()
    acme = Organization.objects.get(name="Acme")
    assert (acme.country, acme.website, acme.employees) == ("DE", "https://www.acme.example", 1200)
    globex = Organization.objects.get(name="Globex")
    assert (globex.website, globex.employees) == ("https://globex.example/fr", 12500)
    assert sorted(ExternalIdMap.objects.values_list("external_id", flat=True)) == ["ORG-1", "ORG-2"]

    again = import_checked(FILE)
    assert (again.run.rows_total, again.run.skipped) == (2, 2)
