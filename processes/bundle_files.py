"""Reading a bundle's files from a folder on disk (BPMN, DMN and JSON form files)."""

from pathlib import Path

BUNDLE_SUFFIXES = (".bpmn", ".dmn", ".json")


def read_folder(folder: str | Path) -> dict[str, str]:
    files = {p.name: p.read_text(encoding="utf-8") for p in sorted(Path(folder).iterdir())
             if p.is_file() and p.suffix in BUNDLE_SUFFIXES}
    if not files:
        raise FileNotFoundError(f"No .bpmn, .dmn or .json files in {folder}.")
    return files
