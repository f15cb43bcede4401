"""Pack the agent's source (the collection's agent/ directory) into one tar that is the same bytes every time.

argv: the agent directory, the tar to write. Runs on the controller: one file to copy to each host instead
of one per source file, and a copy that changes only when the source does (sorted names, no times, no owners).
"""

import io
import os
import sys
import tarfile

LEFT_OUT = ("__pycache__", "build", "dist")


def source_files(top):
    for directory, subdirs, names in os.walk(top):
        subdirs[:] = sorted(name for name in subdirs if name not in LEFT_OUT and not name.endswith(".egg-info"))
        for name in sorted(names):
            if not name.endswith((".pyc", ".pyo")):
                yield os.path.join(directory, name)


def pack(top, destination):
    temporary = destination + ".tmp%d" % os.getpid()
    with tarfile.open(temporary, "w", format=tarfile.PAX_FORMAT) as archive:
        for path in source_files(top):
            with open(path, "rb") as source:
                data = source.read()
            info = tarfile.TarInfo(os.path.relpath(path, top))
            info.size = len(data)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
    os.rename(temporary, destination)


if __name__ == "__main__":
    pack(sys.argv[1], sys.argv[2])
