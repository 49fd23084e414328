"""Forms of the inbox: the payload editor (one input per target field, the
raw JSON as a fallback) and the two-step actions. They only collect input;
the rules are the pipeline's (dq.services.payload_check)."""

from __future__ import annotations

import json
from typing import Any, cast

from django import forms
from django.contrib.admin import helpers

from dq.services import MAX_REASON
from ingest import registry
from ingest.hints import field_hint

FIELD_PREFIX = "field__"
BAD_JSON = "The raw JSON is not valid JSON: {error}."
NOT_AN_OBJECT = "The raw JSON must be an object of field names to values."
TOO_DEEP = "arrays or objects are nested too deeply"


def input_name(field_name: str) -> str:
    return FIELD_PREFIX + field_name


class PayloadForm(forms.Form):
    """One text input per field of the target, in the target's order, with
    what it wants in words (ingest.hints.field_hint) as help; plus the raw JSON."""

    use_raw_json = forms.BooleanField(
        required=False, label="Save the raw JSON below instead of the fields above"
    )
    raw_json = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 12, "cols": 80}), label="Raw JSON"
    )

    def __init__(self, *args: Any, target: str, payload: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.target = registry.get(target)
        self.extra_keys = [key for key in payload if key not in self.target.field_names]
        for spec in self.target.spec()["fields"]:
            name = spec["name"]
            self.fields[input_name(name)] = forms.CharField(
                required=False,
                label=name,
                initial=payload.get(name) or "",
                help_text=field_hint(spec)
                + (f". {spec['help_text']}" if spec["help_text"] else ""),
                widget=forms.TextInput(
                    attrs={"data-field": name, "size": 60, "autocomplete": "off"}
                ),
            )
        self.fields["raw_json"].initial = json.dumps(payload, indent=2, ensure_ascii=False)
        # Field inputs first, then the advanced part.
        self.order_fields(
            [input_name(name) for name in self.target.field_names] + ["use_raw_json", "raw_json"]
        )

    def field_inputs(self) -> list[forms.BoundField]:
        return [self[input_name(name)] for name in self.target.field_names]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("use_raw_json"):
            try:
                payload = json.loads(data.get("raw_json") or "")
            except ValueError as exc:
                raise forms.ValidationError({"raw_json": BAD_JSON.format(error=exc)}) from None
            except RecursionError:
                raise forms.ValidationError({"raw_json": BAD_JSON.format(error=TOO_DEEP)}) from None
            if not isinstance(payload, dict):
                raise forms.ValidationError({"raw_json": NOT_AN_OBJECT})
        else:
            payload = {name: data.get(input_name(name), "") for name in self.target.field_names}
        data["payload"] = payload
        return data

    def add_payload_errors(self, errors: list[dict[str, str]]) -> None:
        """The pipeline's messages, each beside its field (in raw JSON mode,
        on the JSON; unknown fields and row errors on the form)."""
        raw = bool(self.cleaned_data.get("use_raw_json"))
        for error in errors:
            name = error["field"]
            if raw:
                self.add_error(
                    "raw_json", f"{name}: {error['message']}" if name else error["message"]
                )
            elif name in self.target.field_names:
                self.add_error(input_name(name), error["message"])
            else:
                self.add_error(None, f"{name}: {error['message']}" if name else error["message"])


class IgnoreForm(forms.Form):
    reason = forms.CharField(
        max_length=MAX_REASON,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Why this row will not be imported (kept in the audit).",
    )


class SetFieldForm(forms.Form):
    field_name = forms.ChoiceField(label="Field")
    value = forms.CharField(
        required=False, max_length=10_000, help_text="Leave empty to clear the field."
    )
    requeue = forms.BooleanField(required=False, label="Requeue the changed rows afterwards")
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, target: str | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        names = registry.get(target).field_names if target else []
        cast(forms.ChoiceField, self.fields["field_name"]).choices = [
            (name, name) for name in names
        ]


SELECTED = helpers.ACTION_CHECKBOX_NAME


class ReplaceValueForm(forms.Form):
    """Replace one value by another in every open violation of a group
    (target, source, and optionally rule code and field with an error)."""

    target = forms.ChoiceField(choices=())
    source = forms.CharField(max_length=64)
    code = forms.CharField(max_length=64, required=False, widget=forms.HiddenInput)
    error_field = forms.CharField(max_length=64, required=False, widget=forms.HiddenInput)
    field_name = forms.CharField(max_length=64, label="Field")
    from_value = forms.CharField(max_length=1000, strip=False, label="Replace")
    to_value = forms.CharField(max_length=1000, strip=False, required=False, label="By")
    requeue = forms.BooleanField(required=False, label="Requeue the changed violations")
    remember = forms.BooleanField(
        required=False, label="Remember: apply this replacement to this source's future imports"
    )
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["target"]).choices = [
            (name, name) for name in registry.names()
        ]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        target, name = data.get("target"), data.get("field_name")
        if target and name and name not in registry.get(target).field_names:
            self.add_error("field_name", f"Unknown field for target {target}.")
        return data
