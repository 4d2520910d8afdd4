"""The house reads from its folders: layers import downwards only, and
no two modules import each other, type-checking imports included."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).parent.parent / 'mailman_bouncerules'
# Each folder and what it may import of the package (besides itself and
# the top-level modules below it).
ALLOWED = {
    'utilities': {'config', 'interfaces'},
    'config': {'interfaces', 'utilities'},
    'model': {'interfaces', 'config'},
    'classify': {'interfaces', 'config', 'utilities'},
    'app': {'interfaces', 'config', 'utilities', 'model', 'classify',
            'templates'},
}


def module_name(path):
    parts = path.relative_to(PACKAGE.parent).with_suffix('').parts
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


def imports_of(path, modules):
    """Every module of the package `path` imports, wherever it does (in
    functions and under `if TYPE_CHECKING:` too): for `from X import Y`,
    the module X.Y if Y is one, else X."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and \
                node.module.startswith('mailman_bouncerules'):
            for alias in node.names:
                submodule = '%s.%s' % (node.module, alias.name)
                found.add(submodule if submodule in modules else node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names
                         if alias.name.startswith('mailman_bouncerules'))
    return found


def graph():
    modules = {module_name(path): path for path in PACKAGE.rglob('*.py')}
    return {name: {each for each in imports_of(path, modules)
                   if each in modules and each != name}
            for name, path in modules.items()}


def test_no_module_imports_one_that_imports_it_back():
    edges = graph()
    cycles = []

    def visit(name, trail):
        for target in sorted(edges[name]):
            if target in trail:
                cycles.append(trail[trail.index(target):] + [target])
            elif target not in done:
                visit(target, trail + [target])
        done.add(name)
    done: set[str] = set()
    for name in sorted(edges):
        if name not in done:
            visit(name, [name])
    assert cycles == []


def test_each_layer_imports_only_those_below_it():
    wrong = []
    for name, targets in graph().items():
        parts = name.split('.')
        if len(parts) < 3 or parts[1] not in ALLOWED:
            continue
        for target in targets:
            folder = target.split('.')[1]
            if folder != parts[1] and folder not in ALLOWED[parts[1]] and \
                    target.count('.') > 0 and \
                    (PACKAGE / folder).is_dir():
                wrong.append((name, target))
    assert wrong == []


def test_interface_unions_are_never_evaluated_at_run_time():
    """`IMember | None` is a TypeError under zope.interface 5.5 (Debian
    12's): an annotation that holds one must not be evaluated, so its
    module defers annotations."""
    import re
    union = re.compile(r'\bI[A-Z][A-Za-z]+ \| None\b|\bNone \| I[A-Z][A-Za-z]+')
    eager = [str(path.relative_to(PACKAGE.parent))
             for path in PACKAGE.rglob('*.py')
             if union.search(path.read_text())
             and 'from __future__ import annotations' not in path.read_text()]
    assert eager == []


def test_the_standalone_classifier_starts_without_mailman():
    """`bouncerules classify` reads a bounce with no Mailman site: its
    import path must not pull in Mailman's configuration (lazr.config and
    core's startup cost a tenth of a second there).  A bare `lazr` may be
    there from the start: Debian's namespace-package .pth files load it."""
    import subprocess
    import sys
    loaded = subprocess.run(
        [sys.executable, '-c',
         'import sys, mailman_bouncerules.commands.standalone\n'
         'print(" ".join(sys.modules))'],
        capture_output=True, text=True, check=True).stdout.split()
    assert not {'mailman', 'lazr.config', 'sqlalchemy', 'falcon'} & set(
        loaded)
