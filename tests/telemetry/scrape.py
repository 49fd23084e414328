"""Reading a /metrics page in tests."""

from prometheus_client.parser import text_string_to_metric_families


class Scrape:
    """The samples of one exposition page, looked up by name and labels."""

    def __init__(self, text: str) -> None:
        self.samples = [
            sample for family in text_string_to_metric_families(text) for sample in family.samples
        ]

    def value(self, name: str, **labels: str) -> float | None:
        """The sum of the samples named `name` whose labels include `labels`
        (None when there is none)."""
        found = [
            s.value
            for s in self.samples
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
        ]
        return sum(found) if found else None

    def label_values(self, name_prefix: str, label: str) -> set[str]:
        return {
            s.labels[label]
            for s in self.samples
            if s.name.startswith(name_prefix) and label in s.labels
        }

    def names(self) -> set[str]:
        return {s.name for s in self.samples}
