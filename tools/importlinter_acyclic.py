"""An import-linter contract type: no import cycle between modules.

import-linter's own ``acyclic_siblings`` looks at the children of one
package; a cycle can also run through modules of several apps
(dq.services → runs.services → … → dq.services). This contract takes the
whole graph of the given packages and fails on every strongly connected
set of modules (Tarjan's algorithm), printing one cycle of each. A package
importing its own children (``__init__`` re-exports) is not a cycle.
"""

from __future__ import annotations

import grimp
from importlinter.application import output
from importlinter.domain import fields
from importlinter.domain.contract import Contract, ContractCheck


class AcyclicModulesContract(Contract):
    type_name = "acyclic_modules"

    packages = fields.ListField(subfield=fields.StringField())
    exclude = fields.ListField(subfield=fields.StringField(), required=False)

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        excluded: tuple[str, ...] = tuple(self.exclude or ())  # type: ignore[arg-type]
        modules = sorted(
            module
            for package in self.packages  # type: ignore[attr-defined]
            for module in graph.find_descendants(package) | {package}
            if not any(part in excluded for part in module.split("."))
        )
        edges = {
            module: sorted(
                imported
                for imported in graph.find_modules_directly_imported_by(module)
                if imported in modules and not imported.startswith(module + ".")
            )
            for module in modules
        }
        cycles = [component for component in _strongly_connected(edges) if len(component) > 1]
        return ContractCheck(kept=not cycles, metadata={"cycles": cycles, "edges": edges})

    def render_broken_contract(self, check: ContractCheck) -> None:
        edges = check.metadata["edges"]
        for component in check.metadata["cycles"]:
            output.print_error(" → ".join(_one_cycle(sorted(component), edges)), bold=True)
            output.new_line()


def _strongly_connected(edges: dict[str, list[str]]) -> list[set[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(start: str) -> None:  # iterative Tarjan: module graphs can be deep
        work = [(start, iter(edges[start]))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    components.append(component)
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(edges[child])))
            elif child in on_stack:
                low[node] = min(low[node], index[child])

    for module in edges:
        if module not in index:
            visit(module)
    return components


def _one_cycle(component: list[str], edges: dict[str, list[str]]) -> list[str]:
    """A path from the first module back to itself, inside the component."""
    members, start = set(component), component[0]
    paths, seen = [[start]], {start}
    while paths:
        path = paths.pop(0)
        for child in edges[path[-1]]:
            if child == start:
                return [*path, start]
            if child in members and child not in seen:
                seen.add(child)
                paths.append([*path, child])
    return component
