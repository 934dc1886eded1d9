"""Writing at the edge: atomic files and folders that appear only when complete."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import Problem, SubError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def publish(tmp: str | Path, path: Path) -> None:
    """Give a finished temporary file ordinary permissions (mkstemp makes it 0600) and move it in place."""
    os.chmod(tmp, 0o666 & ~_umask())
    os.replace(tmp, path)


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a temporary file and a rename: never a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        publish(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def cannot_write(exc: OSError, path: Path | str, what: str = "cannot write the output") -> SubError:
    """An operating-system failure while writing (full or read-only disk, no permission) as bad
    input: the path and the cause, and that the previous output is untouched."""
    cause = exc.strerror or type(exc).__name__
    return SubError(Problem(str(path), None, None, None, f"{what}: {cause} (errno {exc.errno}); "
                                                          "the previous output, if any, is untouched"),
                    summary="the output could not be written")


def _shown(filename, stage: Path, shown: Path) -> str:
    """A path inside the staging folder as the user will know it: under the final output folder."""
    path = Path(str(filename))
    try:
        return str(shown / path.relative_to(stage))
    except ValueError:
        return str(path)


@contextmanager
def staged_folder(target: Path, log: list[str] | None = None, shown: Path | None = None) -> Iterator[Path]:
    """Yield an empty sibling folder to write into; it replaces `target` only if the block succeeds.

    A failed or interrupted build leaves the previous output exactly as it was. The staging folder
    is named `.TARGET.building-PID-...`, so that the next run into the same place can tell a folder
    left by a killed run (its process is gone) and remove it; `log` gets a line for each.
    A write that the operating system refuses (full or read-only disk, permission) is reported with
    the output path the user knows, not the staging path.
    """
    from .outdir import describe_removed, remove_stale_staging

    shown = Path(shown) if shown is not None else Path(target)
    target = Path(os.path.abspath(target)).resolve()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        removed = remove_stale_staging(target)
        stage = Path(tempfile.mkdtemp(prefix=f".{target.name}.building-{os.getpid()}-", dir=target.parent))
        os.chmod(stage, 0o777 & ~_umask())
    except OSError as exc:
        raise cannot_write(exc, shown, "cannot create the output folder") from None
    if log is not None:
        log.extend(describe_removed(removed))
    try:
        yield stage
    except OSError as exc:
        shutil.rmtree(stage, ignore_errors=True)
        if exc.filename is None:  # e.g. ENOSPC from a write(): no path attached, but it was the output
            raise cannot_write(exc, shown) from None
        if str(exc.filename).startswith(str(stage)):
            raise cannot_write(exc, _shown(exc.filename, stage, shown)) from None
        raise
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    old = None
    try:
        if target.exists():
            old = target.parent / f".{target.name}.previous-{os.getpid()}"
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
        os.replace(stage, target)
    except OSError as exc:
        if old is not None and old.exists() and not target.exists():
            os.replace(old, target)
        shutil.rmtree(stage, ignore_errors=True)
        raise cannot_write(exc, shown, "cannot put the finished output in place") from None
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# --------------------------------------------------------------------------- build timestamp

def build_timestamp(default: dt.datetime) -> dt.datetime:
    """The creation time written into outputs: SOURCE_DATE_EPOCH when set, else `default`.

    Never the wall clock, so that two builds of the same inputs give the same bytes.
    """
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is not None and epoch.strip():
        try:
            return dt.datetime.fromtimestamp(int(epoch), tz=dt.timezone.utc).replace(tzinfo=None)
        except ValueError:
            raise SubError(Problem("SOURCE_DATE_EPOCH", None, None, epoch, "expected whole seconds since 1970")) from None
    return default
