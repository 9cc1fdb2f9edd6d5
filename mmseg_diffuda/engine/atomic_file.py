"""Write files so that a reader never sees a partly written one."""
import os
import os.path as osp
import tempfile


def atomic_write_bytes(data: bytes, path: str) -> None:
    """Write ``data`` to ``path`` through a temporary file that is renamed into place.

    The temporary file lives in the target's folder (a rename within one file system is
    atomic), is flushed and ``fsync``-ed before ``os.replace`` and the folder is synced after it.
    A process killed at any point leaves either the old file (or none) or the complete new one,
    plus at most a ``.<name>.*.tmp`` file, never a truncated ``path``.

    Args:
        data (bytes): The content.
        path (str): The destination.
    """
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    handle, tmp_path = tempfile.mkstemp(prefix=f'.{osp.basename(path)}.', suffix='.tmp',
                                        dir=folder)
    try:
        with os.fdopen(handle, 'wb') as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp_path, path)
    finally:
        if osp.exists(tmp_path):
            os.remove(tmp_path)
    _fsync_folder(folder)


def _fsync_folder(folder: str) -> None:
    """Persist a rename in ``folder`` (a no-op where folders cannot be opened, e.g. Windows)."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)
