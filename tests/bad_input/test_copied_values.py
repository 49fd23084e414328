"""Values as web pages, spreadsheets and CRMs write them: invisible
characters copied around a value, websites without their scheme, phones
with a trunk 0 after the country code. Through
the real pipeline, twice: the second import of the same file is skipped row
by row, so trimming and hashing agree."""

import pytest

from core.models import Organization
from ingest import fields
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


PHONES = (
    "external_id,name,country,phone\n"
    "ORG-1,Acme,DE,+49 030 1234567\n"
    "ORG-2,Globex,IT,+39 06 1234 5678\n"
    "ORG-3,Initech,DE,+0049 30 1234567\n"
    "ORG-4,Umbrella,DE,+999 1234567\n"
)


@pytest.mark.django_db
def test_a_trunk_0_after_the_country_code_is_dropped_and_no_calling_code_is_refused():
    ended = import_checked(PHONES)
    assert ended.counts == (4, 2, 2), ended.messages()
    assert dict(Organization.objects.values_list("name", "phone")) == {
        "Acme": "+49301234567",
        "Globex": "+390612345678",
    }
    assert [(v.external_id, v.errors) for v in ended.violations] == [
        (external_id, [fields.error("phone", fields.INVALID_FORMAT, fields.MSG_PHONE_CALLING_CODE)])
        for external_id in ("ORG-3", "ORG-4")
    ]
