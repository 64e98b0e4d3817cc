"""The stubs match the module (both ways), and every public name has a docstring."""

import ast
import inspect
import pathlib

import pytest

import buffdb
import buffdb._buffdb as native

PKG = pathlib.Path(buffdb.__file__).parent
DUNDERS = {
    "__getitem__", "__setitem__", "__delitem__", "__contains__", "__len__", "__iter__",
    "__next__", "__enter__", "__exit__", "__bool__",
}


def is_public(name):
    return not name.startswith("_") or name in DUNDERS or name == "__version__"


def stub_names(path):
    """{top-level name: set of member names or None for non-classes}. A class's members
    include those of its bases defined in the same stub (Db and Transaction inherit
    every operation from Ops)."""
    tree = ast.parse(path.read_text())
    out = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            members = set()
            for base in node.bases:
                if isinstance(base, ast.Name) and isinstance(out.get(base.id), set):
                    members |= out[base.id]
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    members.add(item.name)
                elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    members.add(item.target.id)
            out[node.name] = {m for m in members if is_public(m)}
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            out[node.name] = None
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            out[node.target.id] = None
        elif isinstance(node, ast.ImportFrom) and node.module is None or (
            isinstance(node, ast.ImportFrom) and node.level == 1
        ):
            for alias in node.names:
                if alias.asname == alias.name:  # explicit re-export
                    out[alias.name] = "reexport"
    return {k: v for k, v in out.items() if is_public(k)}


def runtime_members(cls):
    """Public members defined by buffdb itself (not inherited from object, Exception, io)."""
    names = set()
    for klass in cls.__mro__:
        if not klass.__module__.startswith("buffdb"):
            continue
        names.update(n for n in vars(klass) if is_public(n))
    return names


def check_module(module, stub_file):
    stubs = stub_names(stub_file)
    runtime = {n for n in dir(module) if is_public(n) and not inspect.ismodule(getattr(module, n))}
    assert set(stubs) == runtime, (
        f"in stub only: {sorted(set(stubs) - runtime)}; in module only: {sorted(runtime - set(stubs))}"
    )
    for name, members in stubs.items():
        if not isinstance(members, set):
            continue
        cls = getattr(module, name)
        if issubclass(cls, BaseException):
            inst = cls("x")
            missing = {m for m in members if not hasattr(inst, m)}
            assert not missing, f"{name}: {missing}"
            continue
        actual = runtime_members(cls)
        # Everything buffdb defines is in the stub; the stub may also restate inherited
        # io/object members (for precise return types), which must exist too.
        missing_in_stub = actual - members
        missing_at_runtime = {m for m in members - actual if not hasattr(cls, m)}
        assert not missing_in_stub and not missing_at_runtime, (
            f"{name}: in stub only: {sorted(missing_at_runtime)}; at runtime only: {sorted(missing_in_stub)}"
        )


def test_public_stub_matches_module():
    check_module(buffdb, PKG / "__init__.pyi")


def test_native_stub_matches_module():
    stubs = stub_names(PKG / "_buffdb.pyi")
    runtime = {n for n in dir(native) if is_public(n)}
    assert set(stubs) == runtime, (
        f"in stub only: {sorted(set(stubs) - runtime)}; in module only: {sorted(runtime - set(stubs))}"
    )
    for name in ("NativeReader", "NativeWriter"):
        assert stubs[name] == runtime_members(getattr(native, name))


def test_all_is_complete():
    public = {n for n in dir(buffdb) if not n.startswith("_") and not inspect.ismodule(getattr(buffdb, n))}
    assert set(buffdb.__all__) == public | {"__version__"}


def test_py_typed_shipped():
    assert (PKG / "py.typed").exists()


def _public_objects():
    for name in buffdb.__all__:
        obj = getattr(buffdb, name)
        if isinstance(obj, (str, int)):
            continue
        yield name, obj
        if inspect.isclass(obj) and not issubclass(obj, BaseException):
            for member in sorted(runtime_members(obj)):
                if member.startswith("__"):
                    continue
                yield f"{name}.{member}", inspect.getattr_static(obj, member)


@pytest.mark.parametrize("name,obj", list(_public_objects()), ids=lambda x: x if isinstance(x, str) else "")
def test_docstrings(name, obj):
    doc = getattr(obj, "__doc__", None)
    if isinstance(obj, property):
        doc = obj.fget.__doc__ if obj.fget else doc
    assert doc and doc.strip(), f"{name} has no docstring"


def test_version():
    assert buffdb.__version__ == buffdb.ENGINE_VERSION
    assert buffdb.__version__.count(".") == 2


def test_error_codes_match_engine():
    from buffdb._errors import _BY_NUMBER

    assert {n: name for n, name in native.ERROR_CODES} == {n: c.code for n, c in _BY_NUMBER.items()}


def test_stubtest(tmp_path):
    """mypy's stubtest: the stubs agree with the runtime module (names, signatures,
    defaults, positional-only dunders, final classes)."""
    pytest.importorskip("mypy")
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "buffdb"],
        capture_output=True, text=True, cwd=str(tmp_path),
    )
    assert out.returncode == 0, out.stdout + out.stderr
