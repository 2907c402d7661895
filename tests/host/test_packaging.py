"""The wheel carries every subpackage of the one namespace, ``sharespec`` (an explicit package
list drops new subpackages from wheels while editable installs keep working), and importing
``sharespec`` stays light."""
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = {"model": "sharespec/model", "generators": "sharespec/generators", "impl": "sharespec/impl",
           "sharespec": "sharespec"}


def expected_packages():
    wanted = set()
    for folder, prefix in FOLDERS.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            if folder == "sharespec" and rel.parts and rel.parts[0] in ("model", "generators", "impl"):
                continue
            wanted.add("/".join((prefix,) + rel.parts))
    return wanted


def test_wheel_contains_every_subpackage_the_cases_and_the_z3_corpus(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True, timeout=600)
    wheel = next(tmp_path.glob("sharespec-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    packages = {n.rsplit("/", 1)[0] for n in names if n.endswith("/__init__.py")}
    missing = expected_packages() - packages
    assert not missing, f"the wheel lacks {sorted(missing)}"
    cases = [n for n in names if n.startswith("sharespec/cases/") and n.endswith(".case")]
    assert len(cases) == len(list((ROOT / "sharespec" / "cases").glob("*.case")))
    assert "sharespec/impl/__main__.py" in names
    # the z3 corpus of the default suite ships, so that a run needs no z3 search (z3_suite.py)
    from sharespec.z3_suite import SHIPPED, file_name
    assert {f"sharespec/data/{file_name(p, b)}" for p, b in SHIPPED} <= set(names)


def test_importing_sharespec_is_light():
    code = ("import sys, sharespec, sharespec.impl; "
            "heavy = [m for m in ('z3', 'networkx', 'hypothesis', 'sharespec.model') if m in sys.modules]; "
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_readme_test_command_is_what_ci_runs():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    marker = "<!-- test-command -->"
    block = readme.split(marker)[1]
    command = [l for l in block.splitlines() if l.strip() and not l.startswith("```")][0].strip()
    assert command in ci, f"{command!r} is not in .ci/run"
