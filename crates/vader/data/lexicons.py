"""VADER's lexicons come from a package registry, not from a copy of someone's repository.

    python3 crates/vader/data/lexicons.py extract   # make lexicons: from the pinned wheel on PyPI
    python3 crates/vader/data/lexicons.py check     # make lexicon-check: the committed files are the wheel's

`vader_lexicon.txt`, `emoji_utf8_lexicon.txt` and `LICENSE-vaderSentiment-MIT.txt`
(the wheel's `LICENSE.txt`) are the files of the `vaderSentiment` 3.3.2 wheel
(MIT, C.J. Hutto), byte for byte (CRLF line ends included). `extract` downloads
the wheel with pip, checks the wheel's sha256 (pinned below), and writes the
three files after checking each against the wheel's RECORD. `check` holds the
committed files to the RECORD of the vaderSentiment that `make setup` installs
from requirements-dev.txt (the same pinned version), so CI needs no download.
"""

import base64
import hashlib
import importlib.metadata
import os
import subprocess
import sys
import tempfile
import zipfile

PACKAGE = "vaderSentiment"
VERSION = "3.3.2"
WHEEL = "vaderSentiment-3.3.2-py2.py3-none-any.whl"
# sha256 of the wheel as PyPI serves it.
WHEEL_SHA256 = "3bf1d243b98b1afad575b9f22bc2cb1e212b94ff89ca74f8a23a588d024ea311"
HERE = os.path.dirname(os.path.abspath(__file__))
# committed name -> path inside the wheel
FILES = {
    "vader_lexicon.txt": "vaderSentiment/vader_lexicon.txt",
    "emoji_utf8_lexicon.txt": "vaderSentiment/emoji_utf8_lexicon.txt",
    "LICENSE-vaderSentiment-MIT.txt": "vaderSentiment-3.3.2.dist-info/LICENSE.txt",
}


def record_hash(data):
    """A wheel RECORD's hash: sha256, urlsafe base64 without padding."""
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def parse_record(text):
    out = {}
    for line in text.splitlines():
        parts = line.rsplit(",", 2)
        if len(parts) == 3 and parts[1]:
            out[parts[0]] = parts[1]
    return out


def extract():
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                        "--only-binary=:all:", "-d", tmp, f"{PACKAGE}=={VERSION}"], check=True)
        wheel = os.path.join(tmp, WHEEL)
        with open(wheel, "rb") as f:
            got = hashlib.sha256(f.read()).hexdigest()
        if got != WHEEL_SHA256:
            sys.exit(f"{WHEEL} has sha256 {got}, not the pinned {WHEEL_SHA256}")
        with zipfile.ZipFile(wheel) as z:
            record = parse_record(z.read(f"{PACKAGE}-{VERSION}.dist-info/RECORD").decode())
            for name, inner in FILES.items():
                data = z.read(inner)
                if record.get(inner) != record_hash(data):
                    sys.exit(f"{inner} does not match the wheel's RECORD")
                with open(os.path.join(HERE, name), "wb") as out:
                    out.write(data)
                print(f"{name}: {len(data)} bytes from {WHEEL} ({record[inner]})")


def check():
    try:
        dist = importlib.metadata.distribution(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        sys.exit(f"{PACKAGE} is not installed: run `make setup` (requirements-dev.txt pins {VERSION})")
    if dist.version != VERSION:
        sys.exit(f"{PACKAGE} {dist.version} is installed, the lexicons are {VERSION}'s")
    record = parse_record(dist.read_text("RECORD") or "")
    # The installed RECORD names the license as the wheel did.
    bad = []
    for name, inner in FILES.items():
        with open(os.path.join(HERE, name), "rb") as f:
            got = record_hash(f.read())
        if record.get(inner) != got:
            bad.append(f"{name}: {got}, the wheel's RECORD says {record.get(inner)}")
    if bad:
        sys.exit("crates/vader/data is not vaderSentiment 3.3.2's (run `make lexicons`):\n" + "\n".join(bad))
    print(f"crates/vader/data: {len(FILES)} files are {PACKAGE} {VERSION}'s, by its RECORD")


if __name__ == "__main__":
    {"extract": extract, "check": check}.get(sys.argv[1] if len(sys.argv) > 1 else "", lambda: sys.exit(__doc__))()
