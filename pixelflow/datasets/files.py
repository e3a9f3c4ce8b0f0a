"""Finding data files on disk, downloading them when allowed, and hashing them
for provenance.

Search order for a dataset's files:

1. the ``data_dir`` argument,
2. every directory in ``$PIXELFLOW_DATA`` (``os.pathsep``-separated),
3. dataset-specific system directories (e.g. the Debian package
   ``dataset-fashion-mnist`` installs ``/usr/share/datasets/fashion-mnist``),
4. the user cache ``pooch.os_cache("pixelflow")``.

In each place the files may sit in one of the dataset's subfolders (e.g.
``<dir>/mnist/``). Directly in ``<dir>`` is accepted only for ``data_dir`` and
the dataset-specific system directories, because ``$PIXELFLOW_DATA`` and the
cache are shared roots and MNIST and Fashion-MNIST use the same file names.

All expected files must sit together in one directory. Files found locally are
used as they are: they are hashed (sha256) for the record but not checked
against the official checksums, because legitimate local copies differ from
the official archives (truncated prefixes, re-compressed packages). Only
downloads are verified (md5).
"""

from __future__ import annotations

import hashlib
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

import pooch

from pixelflow.checks import check_int

DATA_ENV_VAR = "PIXELFLOW_DATA"


@dataclass(frozen=True)
class RemoteFile:
    """An official download location and its md5 checksum."""

    url: str
    md5: str


@dataclass(frozen=True)
class _Candidate:
    root: Path
    origin: str
    # Whether files lying directly in ``root`` (not in a named subfolder) count.
    allow_flat: bool


def cache_dir() -> Path:
    """The user cache directory where downloads are stored.

    Returns
    -------
    pathlib.Path
        ``pooch.os_cache("pixelflow")`` (not created by this call).
    """
    return Path(pooch.os_cache("pixelflow"))


def sha256_file(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    """Hex sha256 digest of a file, read in chunks.

    Parameters
    ----------
    path : str or os.PathLike
        File to hash.
    chunk_size : int, default 1 MiB
        Bytes read per step, bounding memory use for large files.

    Returns
    -------
    str
        64-character lowercase hex digest.
    """
    check_int(chunk_size, "chunk_size", low=1)
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _candidates(
    data_dir: str | os.PathLike | None, extra_dirs: Sequence[str | os.PathLike]
) -> list[_Candidate]:
    found: list[_Candidate] = []
    if data_dir is not None:
        if not isinstance(data_dir, (str, os.PathLike)):
            raise TypeError(
                f"data_dir must be a path (str or os.PathLike) or None, got {data_dir!r}"
            )
        found.append(_Candidate(Path(data_dir).expanduser(), "data_dir argument", True))
    # The env var and the cache are shared roots holding several datasets, and
    # MNIST and Fashion-MNIST use identical file names: accepting flat files
    # there would let one silently stand in for the other. So only their
    # dataset subfolders count.
    for entry in os.environ.get(DATA_ENV_VAR, "").split(os.pathsep):
        if entry.strip():
            found.append(_Candidate(Path(entry.strip()).expanduser(), f"${DATA_ENV_VAR}", False))
    for extra in extra_dirs:
        found.append(_Candidate(Path(extra), "system data directory", True))
    found.append(_Candidate(cache_dir(), "user cache", False))
    return found


def _dirs_to_check(cand: _Candidate, subfolders: Sequence[str]) -> list[Path]:
    dirs = [cand.root / sub for sub in subfolders]
    if cand.allow_flat:
        dirs.append(cand.root)
    return dirs


def find_data_dir(
    label: str,
    subfolders: Sequence[str],
    filenames: Sequence[str],
    *,
    data_dir: str | os.PathLike | None = None,
    extra_dirs: Sequence[str | os.PathLike] = (),
    download: bool = True,
    fetch: Callable[[Path], Path] | None = None,
    hints: Sequence[str] = (),
) -> Path:
    """Find the directory holding all of a dataset's files, downloading them if
    they are nowhere on disk.

    Parameters
    ----------
    label : str
        Dataset name for messages, e.g. ``"MNIST"``.
    subfolders : sequence of str
        Names of the dataset's folder under a data root, preferred first
        (e.g. ``("mnist", "MNIST/raw")``). The first one is also where
        downloads go inside the cache.
    filenames : sequence of str
        Files that must all be present in one directory.
    data_dir : str or os.PathLike, optional
        Explicit directory to try first; the files may be in it directly or
        in one of ``subfolders`` below it.
    extra_dirs : sequence of path, optional
        Dataset-specific system directories, tried after ``$PIXELFLOW_DATA``.
    download : bool, default True
        Whether to call ``fetch`` when the files are not found.
    fetch : callable, optional
        ``fetch(cache_root) -> directory`` downloads the files (verifying their
        checksums) and returns the directory that now holds them.
    hints : sequence of str, optional
        Extra ways to fix a missing-data error, listed in its message.

    Returns
    -------
    pathlib.Path
        Directory containing every file in ``filenames``.

    Raises
    ------
    FileNotFoundError
        If the files are not found and cannot be downloaded; the message lists
        every directory searched, every file expected, and how to fix it.
    """
    if not isinstance(download, bool):
        raise TypeError(f"download must be True or False, got {download!r}")
    searched: list[tuple[Path, str, list[str]]] = []
    for cand in _candidates(data_dir, extra_dirs):
        for directory in _dirs_to_check(cand, subfolders):
            present = [name for name in filenames if (directory / name).is_file()]
            if len(present) == len(filenames):
                return directory
            searched.append((directory, cand.origin, present))

    failure = "downloading is disabled (download=False)"
    if download and fetch is not None:
        try:
            directory = Path(fetch(cache_dir()))
        # Any failure here (no network, HTTP error, checksum mismatch, disk
        # full) leaves the user in the same place: the data is missing.
        except Exception as exc:  # noqa: BLE001
            failure = f"the download failed: {type(exc).__name__}: {exc}"
            raise FileNotFoundError(
                _missing_message(label, subfolders, filenames, searched, failure, hints)
            ) from exc
        missing = [name for name in filenames if not (directory / name).is_file()]
        if not missing:
            return directory
        failure = f"the download finished but {directory} lacks {', '.join(missing)}"
    elif download:
        failure = "no download source is known for it"
    raise FileNotFoundError(
        _missing_message(label, subfolders, filenames, searched, failure, hints)
    )


def _missing_message(
    label: str,
    subfolders: Sequence[str],
    filenames: Sequence[str],
    searched: Sequence[tuple[Path, str, list[str]]],
    failure: str,
    hints: Sequence[str],
) -> str:
    lines = [f"Could not find the {label} data files, and {failure}."]
    lines.append("Expected all of these files together in one directory:")
    lines += [f"    {name}" for name in filenames]
    lines.append("Directories searched, in order:")
    for directory, origin, present in searched:
        note = ""
        if present:
            note = f"; has only {', '.join(present)}"
        lines.append(f"    {directory}  ({origin}{note})")
    if not os.environ.get(DATA_ENV_VAR, "").strip():
        lines.append(f"    (${DATA_ENV_VAR} is not set)")
    where = " or ".join(f"<root>/{sub}/" for sub in subfolders)
    lines.append("To fix this, do one of:")
    lines.append("    - pass data_dir=<directory holding the files>")
    lines.append(f"    - set {DATA_ENV_VAR}=<root> with the files in {where}")
    lines += [f"    - {hint}" for hint in hints]
    lines.append("    - call with download=True on a machine with internet access")
    return "\n".join(lines)


def fetch_remote_files(
    remotes: Mapping[str, RemoteFile], target: str | os.PathLike
) -> Path:
    """Download files with pooch into ``target``, verifying each md5.

    Parameters
    ----------
    remotes : mapping of str to RemoteFile
        Local file name -> official URL and md5.
    target : str or os.PathLike
        Directory to store the files in (created if needed).

    Returns
    -------
    pathlib.Path
        ``target``.
    """
    target = Path(target)
    for name, remote in remotes.items():
        pooch.retrieve(
            url=remote.url,
            known_hash=f"md5:{remote.md5}",
            fname=name,
            path=target,
            progressbar=False,
        )
    return target


def extract_tar_folder(archive: str | os.PathLike, folder: str, target: str | os.PathLike) -> Path:
    """Extract the members under ``folder/`` of a tar archive into ``target``.

    Members outside ``folder/``, links, and paths escaping ``target`` are
    refused, so a tampered archive cannot write elsewhere.

    Parameters
    ----------
    archive : str or os.PathLike
        The tar (optionally compressed) archive.
    folder : str
        Top-level folder inside the archive to extract.
    target : str or os.PathLike
        Directory to extract into; ``target/folder`` is returned.

    Returns
    -------
    pathlib.Path
        The extracted folder.
    """
    target = Path(target)
    with tarfile.open(archive) as tar:
        members = []
        for member in tar.getmembers():
            name = member.name.removeprefix("./")
            if not (name == folder or name.startswith(folder + "/")):
                continue
            if ".." in Path(name).parts or Path(name).is_absolute():
                raise ValueError(f"{archive}: refusing unsafe member path {member.name!r}")
            if not (member.isfile() or member.isdir()):
                raise ValueError(f"{archive}: refusing non-regular member {member.name!r}")
            members.append(member)
        if not members:
            raise ValueError(f"{archive}: holds no folder named {folder!r}")
        if hasattr(tarfile, "data_filter"):
            tar.extractall(target, members=members, filter="data")
        else:  # Python < 3.10.12 / 3.11.4: the checks above stand in for the filter
            tar.extractall(target, members=members)
    return target / folder
