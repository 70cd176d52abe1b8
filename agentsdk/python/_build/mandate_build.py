"""A PEP 517 build backend for this pure-Python package, standard library
only, so that `pip install agentsdk/python` needs nothing from an index:
pip's isolated build environment installs no requirement at all, and
neither setuptools nor wheel has to be present.  It writes the wheel
(the package files, METADATA, WHEEL and RECORD) and an sdist."""

import base64
import hashlib
import io
import os
import tarfile
import zipfile

NAME = "mandate_agent"
DIST = "mandate_agent"
VERSION = "0.1.0"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TAG = "py3-none-any"

METADATA = """Metadata-Version: 2.1
Name: mandate-agent
Version: %s
Summary: Mandate agent SDK: ctypes binding of libmandate-agent
Requires-Python: >=3.8
Classifier: Typing :: Typed
""" % VERSION


def _files():
    pkg = os.path.join(ROOT, NAME)
    for name in sorted(os.listdir(pkg)):
        if name.endswith(".py") or name == "py.typed":
            yield "%s/%s" % (NAME, name), os.path.join(pkg, name)


def _digest(data):
    d = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + d.decode()


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None,
                metadata_directory=None):
    info = "%s-%s.dist-info" % (DIST, VERSION)
    wheel_name = "%s-%s-%s.whl" % (DIST, VERSION, TAG)
    entries = [(arc, open(path, "rb").read()) for arc, path in _files()]
    entries.append((info + "/METADATA", METADATA.encode()))
    entries.append((info + "/WHEEL", ("Wheel-Version: 1.0\nGenerator: "
                                      "mandate_build\nRoot-Is-Purelib: true\n"
                                      "Tag: %s\n" % TAG).encode()))
    record = "".join("%s,%s,%d\n" % (arc, _digest(data), len(data))
                     for arc, data in entries)
    record += info + "/RECORD,,\n"
    entries.append((info + "/RECORD", record.encode()))
    with zipfile.ZipFile(os.path.join(wheel_directory, wheel_name), "w",
                         zipfile.ZIP_DEFLATED) as z:
        for arc, data in entries:
            z.writestr(arc, data)
    return wheel_name


def build_sdist(sdist_directory, config_settings=None):
    base = "%s-%s" % (DIST, VERSION)
    name = base + ".tar.gz"
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz") as t:
        for rel in ["pyproject.toml", "README.md",
                    "_build/mandate_build.py"]:
            t.add(os.path.join(ROOT, rel), arcname=base + "/" + rel)
        for arc, path in _files():
            t.add(path, arcname=base + "/" + arc)
        info = tarfile.TarInfo(base + "/PKG-INFO")
        data = METADATA.encode()
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    return name
