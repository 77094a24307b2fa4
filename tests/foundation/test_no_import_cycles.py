"""No import cycles among the modules of one package (curate, evalsuite, train, api).

The rule: an import counts wherever it stands, at module level or inside a function. A lazy
import that closes a circle still makes two modules need each other; being lazy only hides the
circle from the interpreter until the day someone moves the import up. Imports under ``if
TYPE_CHECKING:`` do not count (they never run). An import of the package itself counts: ``from
curate import X`` inside curate would be a circle through the public ``__init__``.
"""

from __future__ import annotations

import grimp
import pytest

PACKAGES = ("curate", "evalsuite", "train", "api")


def import_cycles(package: str) -> list[str]:
    """Each cycle among the package's modules once, as ``a -> b -> a``."""
    graph = grimp.build_graph(package, exclude_type_checking_imports=True, cache_dir=None)
    cycles: dict[frozenset[str], str] = {}
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back:
                cycles.setdefault(frozenset(back), " -> ".join((importer, *back)))
    return sorted(cycles.values())


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_cycles(package: str) -> None:
    assert import_cycles(package) == []
