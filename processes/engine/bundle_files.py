"""Reading a bundle's files from a folder on disk (BPMN, DMN and JSON form files)."""

from pathlib import Path

BUNDLE_SUFFIXES = (".bpmn", ".dmn", ".json")


def read_folder(*folders: str | Path) -> dict[str, str]:
    """One bundle from one or more folders (the pathway keeps diagrams in bpmn/ and forms in forms/)."""
    files: dict[str, str] = {}
    for folder in folders:
        for path in sorted(Path(folder).iterdir()):
            if path.is_file() and path.suffix in BUNDLE_SUFFIXES:
                if path.name in files:
                    raise ValueError(f"Two files are named {path.name}; names must be unique in a bundle.")
                try:
                    files[path.name] = path.read_text(encoding="utf-8")
                except UnicodeDecodeError as exc:
                    raise ValueError(f"{path.name} is not UTF-8 text.") from exc
    if not files:
        raise FileNotFoundError(f"No .bpmn, .dmn or .json files in {', '.join(map(str, folders))}.")
    return files
