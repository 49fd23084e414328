"""The form of a golden record's admin page. A steward's edit goes through
the record's import rules (ingest.identity.record_check), so it is stored
as an import would store it, with the same message beside a field an
import would refuse; this form only hands the typed values over."""

from __future__ import annotations

import datetime as dt
from functools import cached_property
from typing import Any

from django import forms
from django.utils import timezone

from ingest import identity


class RuleField(forms.Field):
    """A field whose value the target's import rule checks, in the form's
    ``clean`` (a phone's rule needs the country): it only hands over the
    text typed, in the widget the admin chose for the model field."""

    def __init__(self, original: forms.Field, *, required: bool) -> None:
        super().__init__(
            required=required,
            widget=original.widget,
            label=original.label,
            initial=original.initial,
            help_text=original.help_text,
            disabled=original.disabled,
        )

    def to_python(self, value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, (list, tuple)):  # a date and a time, as the admin splits them
            return local_datetime(" ".join(str(part).strip() for part in value if part))
        return str(value)

    def validate(self, value: Any) -> None:
        """The rule checks it, required or not, in the rule's words."""


def local_datetime(text: str) -> str:
    """A date and time typed in the admin is in the site's time zone (the
    admin shows it there), where the rule would take a naive one as UTC."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return text  # the rule says what is wrong with it
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment.isoformat()


class GoldenRecordForm(forms.ModelForm):
    """Every field of the record that its target's import rules cover is
    checked and normalised by them; the others (a foreign key) are the
    model form's own."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in identity.target_for_model(self._meta.model).record_fields:
            if field.column in self.fields:
                self.fields[field.column] = RuleField(
                    self.fields[field.column], required=field.required
                )

    @cached_property
    def rule_columns(self) -> list[str]:
        return [name for name, field in self.fields.items() if isinstance(field, RuleField)]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        typed = {name: data[name] for name in self.rule_columns if name in data}
        cleaned, messages = identity.record_check(model=self._meta.model, values=typed)
        data.update(cleaned)
        for name, errors in messages.items():
            for message in errors:
                self.add_error(name, message)
        return data

    @cached_property
    def changed_data(self) -> list[str]:
        """A checked field counts as changed when its cleaned value differs
        from the stored one (``de`` typed over ``DE`` is no change), so
        only what the steward really changed becomes manual."""
        cleaned = getattr(self, "cleaned_data", {})
        changed = set(super().changed_data)
        return [
            name
            for name, field in self.fields.items()
            if (
                cleaned[name] != self.get_initial_for_field(field, name)
                if name in self.rule_columns and name in cleaned
                else name in changed
            )
        ]
