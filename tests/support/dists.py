"""Real (minimal, valid) wheels and sdists built in memory, byte-for-byte reproducible."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import random
import tarfile
import zipfile

_EPOCH = (2022, 7, 1, 0, 0, 0)


def _payload(name: str, version: str, size: int) -> bytes:
    # Incompressible filler, so a file's size on the index is close to ``size``.
    return random.Random(f"{name}-{version}-{size}").randbytes(size)


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def wheel(name: str, version: str, size: int = 0) -> tuple[str, bytes]:
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    members = {
        f"{dist}/__init__.py": f'__version__ = "{version}"\n'.encode(),
        f"{dist}/payload.bin": _payload(name, version, size),
        f"{info}/METADATA": (f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
                             "Summary: test distribution\n").encode(),
        f"{info}/WHEEL": (b"Wheel-Version: 1.0\nGenerator: index-warden-tests\n"
                          b"Root-Is-Purelib: true\nTag: py3-none-any\n"),
    }
    record = [_record_line(p, d) for p, d in members.items()] + [f"{info}/RECORD,,"]
    members[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for path, data in members.items():
            zf.writestr(zipfile.ZipInfo(path, _EPOCH), data)
    return f"{dist}-{version}-py3-none-any.whl", buf.getvalue()


# An in-tree PEP 517 backend, so pip can read an sdist's metadata with no build tools.
_BACKEND = """import os, shutil

def get_requires_for_build_wheel(config_settings=None):
    return []

def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    name = "{dist}-{version}.dist-info"
    os.makedirs(os.path.join(metadata_directory, name))
    shutil.copy("PKG-INFO", os.path.join(metadata_directory, name, "METADATA"))
    return name

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    raise NotImplementedError("metadata-only test distribution")
"""


def sdist(name: str, version: str, size: int = 0) -> tuple[str, bytes]:
    dist = name.replace("-", "_")
    root = f"{dist}-{version}"
    members = {
        f"{root}/PKG-INFO": (f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
                             "Summary: test distribution\n").encode(),
        f"{root}/pyproject.toml": (b'[build-system]\nrequires = []\nbuild-backend = "backend"\n'
                                   b'backend-path = ["."]\n'),
        f"{root}/backend.py": _BACKEND.format(dist=dist, version=version).encode(),
        f"{root}/{dist}/__init__.py": f'__version__ = "{version}"\n'.encode(),
        f"{root}/{dist}/payload.bin": _payload(name, version, size),
    }
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for path, data in members.items():
            member = tarfile.TarInfo(path)
            member.size, member.mtime, member.mode = len(data), 1656633600, 0o644
            tf.addfile(member, io.BytesIO(data))
    return f"{root}.tar.gz", gzip.compress(raw.getvalue(), mtime=0)


def release_files(name: str, version: str, size: int = 0) -> list[tuple[str, bytes]]:
    return [sdist(name, version, size), wheel(name, version, size)]
