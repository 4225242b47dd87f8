"""Build what the Homey Python app in homey_backend/ needs beside its own code.

1. Its dependencies: the pinned ``pythonPackages`` of homey_backend/app.json, installed from
   PyPI wheels for both of Homey's platforms, laid out as the Athom CLI (npm package
   ``homey``, lib/AppPython.js) leaves them after ``homey app dependencies install``::

       homey_backend/python_packages/.python-version    pythonVersion, no newline
       homey_backend/python_packages/<platform>/.venv/lib/python<version>/site-packages/
       homey_backend/python_packages/<platform>/.venv/bin/     (empty)

   The CLI builds these with uv in Docker images we do not have; pip can install wheels
   for another platform into a folder, which is all an app's venv is once packed: the CLI
   packs ``.venv/lib`` alone, and it lists ``.venv/bin`` to drop interpreter links, so that
   folder must exist. ``homey app validate --level publish`` then passes offline.
   Skipped when python_packages/.stamp.json says it was built for the same pins.

2. The bridge's code: homey_backend/lib/kraken_core, a fresh copy of kraken_core without
   the parts that need the REST server (app.py puts lib/ on sys.path). Every import in the
   copy must resolve to the copy, the standard library or the built packages, or the build
   fails naming the file.

Needs PyPI. Usage (from the repository):
    .venv/bin/python scripts/build_homey_python_packages.py [--force]
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "homey_backend"
PACKAGES = APP / "python_packages"
STAMP = PACKAGES / ".stamp.json"
SOURCE = ROOT / "kraken_core"
LIB = APP / "lib"

# Homey's platforms (homey-lib App.REQUIRED_PYTHON_PLATFORMS) and the wheels each runs.
# manylinux2014 (glibc 2.17) is the oldest tag the compiled dependencies publish; a newer
# glibc also runs them.
PLATFORMS = {"arm64": "manylinux2014_aarch64", "amd64": "manylinux2014_x86_64"}

# Bump when the layout this script writes changes, so a stamp from before rebuilds.
LAYOUT_VERSION = 1

# kraken_core parts the Homey app does not ship: the REST bridge and what starts it
# (serving.py imports uvicorn and the bridge), the simulator, the CLI, and the command
# line's settings (pydantic-settings). Names at the package's top level.
VENDOR_EXCLUDED = frozenset({"bridge", "simulator", "cli.py", "settings.py", "serving.py"})
VENDOR_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc")

# name, optional [extras], == and one exact version: what "pinned" means here
PIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9_,.-]+\])?==[A-Za-z0-9.+!_-]+$")


class BuildError(Exception):
    """A build that cannot go on; its message says what to do."""


@dataclass(frozen=True)
class Manifest:
    python_version: str
    packages: tuple[str, ...]


def read_manifest() -> Manifest:
    manifest = json.loads((APP / "app.json").read_text(encoding="utf-8"))
    packages = tuple(manifest.get("pythonPackages", []))
    loose = [spec for spec in packages if not PIN.match(spec)]
    if loose:
        raise BuildError(
            f"homey_backend/.homeycompose/app.json: pin every pythonPackages entry exactly "
            f"(name==version), so both platforms get the same code; not pinned: {', '.join(loose)}"
        )
    return Manifest(python_version=str(manifest["pythonVersion"]), packages=packages)


def site_packages(root: Path, platform: str, python_version: str) -> Path:
    return root / platform / ".venv" / "lib" / f"python{python_version}" / "site-packages"


def stamp_for(manifest: Manifest) -> dict[str, object]:
    return {
        "layout": LAYOUT_VERSION,
        "python_version": manifest.python_version,
        "packages": list(manifest.packages),
        "platforms": PLATFORMS,
    }


def packages_up_to_date(manifest: Manifest) -> bool:
    try:
        built = json.loads(STAMP.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    wanted = stamp_for(manifest)
    return all(built.get(key) == value for key, value in wanted.items()) and all(
        site_packages(PACKAGES, platform, manifest.python_version).is_dir()
        for platform in PLATFORMS
    )


def pip_install(manifest: Manifest, platform: str, target: Path) -> None:
    wheel_platform = PLATFORMS[platform]
    abi = "cp" + manifest.python_version.replace(".", "")
    command = [
        sys.executable, "-m", "pip", "install",
        "--quiet", "--disable-pip-version-check", "--no-compile", "--progress-bar", "off",
        "--only-binary=:all:",
        "--platform", wheel_platform,
        "--python-version", manifest.python_version,
        "--implementation", "cp",
        "--abi", abi,
        "--target", str(target),
        *manifest.packages,
    ]  # fmt: skip
    print(f"installing {len(manifest.packages)} pinned packages for {platform} ({wheel_platform})")
    run = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 (our own argv)
    if run.returncode == 0:
        return
    sys.stderr.write(run.stdout + run.stderr)
    missing = re.findall(r"No matching distribution found for (\S+)", run.stderr)
    what = f"no wheel of {', '.join(missing)}" if missing else "pip failed (output above)"
    raise BuildError(
        f"{what} for CPython {manifest.python_version} on {wheel_platform} ({platform}). "
        f"Pin versions in homey_backend/.homeycompose/app.json whose files on pypi.org include "
        f"a cp{manifest.python_version.replace('.', '')} manylinux wheel for both aarch64 and "
        f"x86_64 (or a py3-none-any wheel), run npm run build:manifest, then this again. "
        f"If PyPI was not reachable, retry with network access."
    )


def distributions(folder: Path) -> list[str]:
    """name==version of every distribution pip installed into a site-packages folder."""
    found = []
    for info in sorted(folder.glob("*.dist-info")):
        name, _, version = info.name.removesuffix(".dist-info").partition("-")
        found.append(f"{name}=={version}")
    return found


def build_packages(manifest: Manifest) -> None:
    """Build both platforms beside python_packages/, then swap: a failed build leaves the
    previous one (and no half-built folder) behind."""
    partial = PACKAGES.with_name(PACKAGES.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    try:
        for platform in PLATFORMS:
            target = site_packages(partial, platform, manifest.python_version)
            pip_install(manifest, platform, target)
            # Console scripts carry this machine's interpreter path; the runtime never runs them.
            shutil.rmtree(target / "bin", ignore_errors=True)
            (partial / platform / ".venv" / "bin").mkdir(parents=True, exist_ok=True)
            size_mb = sum(f.stat().st_size for f in target.rglob("*") if f.is_file()) / 1e6
            print(f"  {platform}: {', '.join(distributions(target))} ({size_mb:.1f} MB)")
        # The CLI compares this file with pythonVersion as is: no newline.
        (partial / ".python-version").write_text(manifest.python_version, encoding="utf-8")
        stamp = json.dumps(stamp_for(manifest), indent=2) + "\n"
        (partial / STAMP.name).write_text(stamp, encoding="utf-8")
        shutil.rmtree(PACKAGES, ignore_errors=True)
        partial.rename(PACKAGES)
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def vendor_kraken_core() -> Path:
    target = LIB / "kraken_core"
    shutil.rmtree(LIB, ignore_errors=True)
    LIB.mkdir(parents=True)
    excluded = {SOURCE / name for name in VENDOR_EXCLUDED}
    missing = [path.name for path in excluded if not path.exists()]
    if missing:
        raise BuildError(
            f"kraken_core has no {', '.join(sorted(missing))}: update VENDOR_EXCLUDED in "
            f"scripts/build_homey_python_packages.py"
        )

    def ignore(folder: str, names: list[str]) -> set[str]:
        skipped = set(VENDOR_IGNORED(folder, names))
        return skipped | {name for name in names if Path(folder, name) in excluded}

    shutil.copytree(SOURCE, target, ignore=ignore)
    return target


def top_level_modules(folder: Path) -> set[str]:
    """The names a site-packages folder lets a program import at the top level."""
    names = set()
    for entry in folder.iterdir():
        if entry.is_dir() and not entry.name.endswith((".dist-info", ".data")):
            names.add(entry.name)
        elif entry.suffix in {".py", ".so"}:
            names.add(entry.name.split(".")[0])
    return names


def imports(tree: ast.Module) -> Iterator[tuple[int, str, int, list[str]]]:
    """(line, module, relative level, names imported from it) of the imports a module runs,
    imports under `if TYPE_CHECKING:` aside."""
    pending: list[ast.AST] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            pending.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name, 0, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            yield node.lineno, node.module or "", node.level, [alias.name for alias in node.names]
        pending.extend(ast.iter_child_nodes(node))


def is_module(package_root: Path, dotted: str) -> bool:
    """Whether <package_root>.<rest of dotted> is a module or package under package_root."""
    path = package_root.joinpath(*dotted.split(".")[1:])
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def check_vendored_imports(copy: Path, third_party: set[str]) -> None:
    allowed = set(sys.stdlib_module_names) | third_party | {"__future__"}
    problems = []
    for file in sorted(copy.rglob("*.py")):
        rel = file.relative_to(copy.parent)
        package = rel.with_suffix("").parts[:-1]
        tree = ast.parse(file.read_text(encoding="utf-8"))
        for line, module, level, names in sorted(imports(tree)):
            if level:
                base = package[: len(package) - level + 1]
                module = ".".join([*base, module] if module else base)
            top = module.split(".")[0]
            if top != copy.name:
                if top not in allowed:
                    problems.append(f"{rel}:{line} imports {top}, which the app does not ship")
                continue
            # `from kraken_core.engine import hub` may name a module as well as an attribute
            left_out = [
                dotted
                for dotted in [module, *(f"{module}.{name}" for name in names)]
                if is_module(SOURCE, dotted) and not is_module(copy, dotted)
            ]
            if not is_module(copy, module) and module not in left_out:
                left_out.append(module)
            problems.extend(
                f"{rel}:{line} imports {name}, which lib/ leaves out" for name in left_out
            )
    if problems:
        raise BuildError(
            "homey_backend/lib: "
            + "; ".join(problems)
            + ". Leave the module out (VENDOR_EXCLUDED in scripts/build_homey_python_packages.py),"
            " stop importing it there, or add the package to pythonPackages."
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="rebuild python_packages anyway")
    args = parser.parse_args(argv)
    try:
        manifest = read_manifest()
        if args.force or not packages_up_to_date(manifest):
            build_packages(manifest)
        else:
            print("homey_backend/python_packages is built for these pins")
        copy = vendor_kraken_core()
        check_vendored_imports(
            copy,
            set.intersection(
                *(
                    top_level_modules(site_packages(PACKAGES, platform, manifest.python_version))
                    for platform in PLATFORMS
                )
            ),
        )
        left_out = ", ".join(sorted(VENDOR_EXCLUDED))
        print(f"copied kraken_core to {LIB.relative_to(ROOT)}/ (without {left_out})")
    except BuildError as err:
        print(f"build_homey_python_packages: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
