"""Under ``ember run``, ``importlib.metadata`` reports torch and torchvision installed at ember's
versions (also in processes the script starts); plain ``import ember`` claims nothing."""

import importlib.metadata
import json
import os
import subprocess
import sys
import textwrap

from packaging.version import Version

import ember
from ember import _torch_distribution

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ENV = {**os.environ, "PYTHONPATH": REPO}


def _run(tmp_path, source, under_ember=True):
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(source))
    command = [sys.executable, "-m", "ember", "run"] if under_ember else [sys.executable]
    r = subprocess.run(
        [*command, str(script)], capture_output=True, text=True, timeout=120, env=ENV, cwd=tmp_path
    )
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


QUERIES = """
import importlib.metadata as md
import json
from packaging.version import Version

def describe(name):
    d = md.distribution(name)
    files = d.files
    first = next(f for f in files if f.name == "__init__.py")
    return {
        "version": md.version(name), "dist_version": d.version, "name": d.metadata["Name"],
        "requires": d.requires, "n_files": len(files), "file_exists": first.locate().exists(),
        "at_least_2_6": Version(md.version(name)) >= Version("2.6"),
    }
"""


def test_metadata_answers_with_embers_versions(tmp_path):
    out = _run(
        tmp_path,
        QUERIES
        + textwrap.dedent(
            """
        print(json.dumps({
            "torch": describe("torch"), "torchvision": describe("torchvision"),
            "top_level": md.packages_distributions().get("torch"),
        }))
        """
        ),
    )
    versions = _torch_distribution.versions()
    requires = [f"ember=={_torch_distribution.ember_release()}"]
    for name in ("torch", "torchvision"):
        info = out[name]
        assert info["version"] == info["dist_version"] == versions[name]
        assert info["name"] == name and info["requires"] == requires
        assert info["n_files"] > 50 and info["file_exists"]
    assert out["torch"]["version"] == ember.__version__ and out["torch"]["at_least_2_6"]
    assert Version(out["torchvision"]["version"]).release == (0, 28, 0)
    assert "torch" in out["top_level"]


def test_requirement_checks_pass(tmp_path):
    out = _run(
        tmp_path,
        """
        import json
        from packaging.requirements import Requirement
        from packaging.version import Version
        import importlib.metadata as md
        checks = {
            spec: Requirement(spec).specifier.contains(Version(md.version(Requirement(spec).name)),
                                                       prereleases=True)
            for spec in ["torch>=2.1", "torch>=2.6,<3", "torchvision>=0.20", "torch<2"]
        }
        print(json.dumps(checks))
        """,
    )
    assert out == {"torch>=2.1": True, "torch>=2.6,<3": True, "torchvision>=0.20": True,
                   "torch<2": False}  # fmt: skip


def test_child_processes_see_the_same_versions(tmp_path):
    out = _run(
        tmp_path,
        """
        import json, subprocess, sys
        child = subprocess.run(
            [sys.executable, "-c",
             "import importlib.metadata as md, json;"
             "print(json.dumps([md.version('torch'), md.version('torchvision'),"
             " md.distribution('torch').requires]))"],
            capture_output=True, text=True, check=True)
        print(child.stdout.strip())
        """,
    )
    versions = _torch_distribution.versions()
    requires = [f"ember=={_torch_distribution.ember_release()}"]
    assert out == [versions["torch"], versions["torchvision"], requires]


def test_spawned_children_see_the_same_versions(tmp_path):
    out = _run(
        tmp_path,
        """
        import json
        import multiprocessing as mp

        def child(queue):
            import importlib.metadata as md
            queue.put([md.version("torch"), md.version("torchvision")])

        if __name__ == "__main__":
            ctx = mp.get_context("spawn")
            queue = ctx.Queue()
            process = ctx.Process(target=child, args=(queue,))
            process.start()
            print(json.dumps(queue.get()))
            process.join()
        """,
    )
    versions = _torch_distribution.versions()
    assert out == [versions["torch"], versions["torchvision"]]


def test_metadata_folders_for_children_match_the_finder(tmp_path):
    """What child processes read from disk agrees with what the in-process finder answers."""
    _torch_distribution.write_metadata_folders(tmp_path)
    found = {d.metadata["Name"]: d for d in importlib.metadata.distributions(path=[str(tmp_path)])}
    assert sorted(found) == ["torch", "torchvision"]
    for name, dist in found.items():
        ours = _torch_distribution.EmberAsTorchDistribution(name)
        assert dist.version == ours.version == _torch_distribution.versions()[name]
        assert dist.requires == ours.requires
        assert dist.read_text("top_level.txt").strip() == name


def test_metadata_folder_is_removed_when_the_program_ends(tmp_path):
    out = _run(
        tmp_path,
        """
        import json, os
        folder = next(p for p in os.environ["PYTHONPATH"].split(os.pathsep)
                      if "ember-run-metadata-" in p)
        print(json.dumps(folder))
        """,
    )
    assert not os.path.exists(out)


def test_plain_import_of_ember_does_not_claim_to_be_torch(tmp_path):
    out = _run(
        tmp_path,
        """
        import importlib.metadata as md, json, sys
        import ember
        from ember import _torch_distribution
        try:
            version = md.version("torch")
        except md.PackageNotFoundError:
            version = None
        finders = [type(f).__name__ for f in sys.meta_path]
        print(json.dumps({"version": version, "finders": finders}))
        """,
        under_ember=False,
    )
    assert "EmberAsTorchFinder" not in out["finders"]
    assert out["version"] != ember.__version__
    # here the oracle torch is installed, and plain Python reports it
    assert out["version"] == importlib.metadata.version("torch")


def test_lightning_requirement_cache(tmp_path):
    out = _run(
        tmp_path,
        """
        import json
        from lightning_utilities.core.imports import RequirementCache
        print(json.dumps([bool(RequirementCache("torch>=2.1")),
                          bool(RequirementCache("torchvision>=0.20")),
                          bool(RequirementCache("torch>=3"))]))
        """,
    )
    assert out == [True, True, False]
