"""Column matching suggestions (ingest.matching): pure functions of names."""

import pytest

from ingest import errors, matching, registry

ORGANIZATION = registry.get("organization")
CONTACT = registry.get("contact")


def suggest(columns, target=ORGANIZATION, **kwargs):
    found = matching.suggest(
        columns=columns,
        fields=target.field_names,
        required=target.required_names,
        synonyms=target.column_synonyms,
        **kwargs,
    )
    return found, {s.column: s.field for s in found.suggestions}


def test_a_crm_export_is_matched_by_synonyms():
    found, fields = suggest(["Company Name", "Country Code", "Org ID", "E-mail", "Customer Notes"])
    assert fields == {
        "Company Name": "name",
        "Country Code": "country",
        "Org ID": "external_id",
        "E-mail": "email",
        "Customer Notes": None,
    }
    assert found.unmatched_required == []
    assert [s.reason for s in found.suggestions] == [
        matching.SYNONYM,
        matching.SYNONYM,
        matching.SYNONYM,
        matching.SIMILAR,
        "",
    ]
    assert found.column_map == {
        "Company Name": "name",
        "Country Code": "country",
        "Org ID": "external_id",
        "E-mail": "email",
    }


@pytest.mark.parametrize(
    ("column", "field"),
    [
        ("ExternalID", "external_id"),
        ("externalId", "external_id"),
        ("EXTERNAL-ID", "external_id"),
        ("Registration No.", "registration_number"),
        ("Reg. Nr", "registration_number"),
        ("Customer Number", "external_id"),
        ("Customer #", "external_id"),
        ("Organisation Name", "name"),
        ("Company Phone", "phone"),
        ("Company Website", "website"),
        ("Contry", "country"),
        ("Last Modified", "updated_at"),
        ("Number of Employees", "employees"),
    ],
)
def test_normalised_names_synonyms_and_close_spellings(column, field):
    assert suggest([column])[1] == {column: field}


def test_a_column_named_as_a_field_keeps_it_and_needs_no_map_entry():
    found, fields = suggest(["external_id", "Name", "country"])
    assert fields == {"external_id": "external_id", "Name": "name", "country": "country"}
    assert {s.reason for s in found.suggestions} == {matching.NAME}
    assert found.column_map == {}


def test_previous_maps_take_precedence_over_guesses():
    found, fields = suggest(
        ["Org ID", "Account Number", "Company Name", "Country Code"],
        remembered={"Account Number": "external_id", "org id": "registration_number"},
    )
    assert fields == {
        "Org ID": "registration_number",
        "Account Number": "external_id",
        "Company Name": "name",
        "Country Code": "country",
    }
    assert [s.reason for s in found.suggestions][:2] == [matching.REMEMBERED] * 2


def test_a_given_map_beats_the_remembered_one():
    _, fields = suggest(
        ["Org ID", "Company Name", "Country Code"],
        given={"Org ID": "registration_number"},
        remembered={"Org ID": "external_id"},
    )
    assert fields["Org ID"] == "registration_number"


def test_a_given_map_beats_a_column_named_as_the_field():
    # As the reader reads it: the mapped column is name, "Name" is not read.
    found, fields = suggest(
        ["ID", "Company Name", "Country Code", "Name"], given={"Company Name": "name"}
    )
    assert (fields["Company Name"], fields["Name"]) == ("name", None)
    assert found.suggestions[1].reason == matching.GIVEN


def test_remembered_entries_for_other_targets_or_absent_columns_are_ignored():
    _, fields = suggest(
        ["Org ID", "Company Name"],
        remembered={"Org ID": "organization_external_id", "Gone": "name"},
    )
    assert fields == {"Org ID": "external_id", "Company Name": "name"}


def test_no_two_columns_get_one_field():
    found, fields = suggest(["Company", "Company Name", "Name", "ID", "Org ID"])
    # "Name" is read as name by the reader unless a map says otherwise: it keeps it.
    assert fields == {
        "Company": None,
        "Company Name": None,
        "Name": "name",
        "ID": "external_id",
        "Org ID": None,
    }
    chosen = [s.field for s in found.suggestions if s.field]
    assert len(chosen) == len(set(chosen))


def test_required_fields_no_column_got_are_flagged():
    found, fields = suggest(["Org ID", "Notes"])
    assert fields == {"Org ID": "external_id", "Notes": None}
    assert found.unmatched_required == ["name", "country"]


def test_a_target_s_own_synonyms_come_first():
    _, fields = suggest(["Contact ID", "Org ID", "Surname", "firstName"], target=CONTACT)
    assert fields == {
        "Contact ID": "external_id",
        "Org ID": "organization_external_id",
        "Surname": "last_name",
        "firstName": "first_name",
    }


def test_header_hints_name_synonyms_of_the_target_s_fields_only():
    hints = matching.header_hints(fields=ORGANIZATION.field_names)
    assert hints["Company Name"] == "name" and hints["Country Code"] == "country"
    assert "Surname" not in hints  # contact's last_name


def check(columns, choices, target=ORGANIZATION):
    return matching.choices_check(
        columns=columns,
        choices=choices,
        fields=target.field_names,
        required=target.required_names,
    )


def test_choices_give_the_column_map_the_reader_needs():
    assert check(
        ["Org ID", "Company Name", "country", "Notes"], ["external_id", "name", "country", None]
    ) == {"Org ID": "external_id", "Company Name": "name"}


def test_choices_with_one_field_twice_name_both_columns():
    with pytest.raises(matching.ChoicesInvalid) as caught:
        check(
            ["Org ID", "Company", "Company Name", "Country"], ["external_id", "name", "name", None]
        )
    message = errors.MATCH_FIELD_TWICE.format(field="name", columns="'Company', 'Company Name'")
    assert caught.value.by_column == {1: message, 2: message, 3: caught.value.by_column[3]}
    assert caught.value.by_column[3] == errors.MATCH_NAMED_AS_FIELD.format(field="country")


def test_a_column_named_as_a_field_may_be_left_out_when_another_is_chosen_for_it():
    assert check(
        ["ID", "Company Name", "Country Code", "Name"], ["external_id", "name", "country", None]
    ) == {"ID": "external_id", "Company Name": "name", "Country Code": "country"}


def test_choices_that_leave_a_required_field_out_say_which():
    with pytest.raises(matching.ChoicesInvalid) as caught:
        check(["Org ID", "Company Name"], ["external_id", None])
    assert caught.value.missing == ["name", "country"]
    assert caught.value.message == errors.MATCH_REQUIRED_UNMATCHED.format(fields="name, country")


def test_a_column_named_as_another_field_may_be_sent_elsewhere():
    assert check(
        ["id", "name", "country", "email"], ["external_id", "name", "country", "website"]
    ) == {
        "id": "external_id",
        "email": "website",
    }
