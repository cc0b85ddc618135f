"""The data root for the Python tools: the same loader as crates/dataroot.

Third-party data sets are read in place from `$TICKERPULSE_DATA`, else
`../shared/data` beside the clone, and each is checked against the sha256 in
`data/sources.toml` on first read. A missing or changed file stops the caller
with a message naming the file, the variable and what to do.

    python3 data/dataroot.py check    # every file of the manifest (make data-check)
"""

import hashlib
import os
import sys
import tomllib

VAR = "TICKERPULSE_DATA"
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
MANIFEST = os.path.join(HERE, "sources.toml")

TABORDA = "stock-tweets/taborda-2020.csv"
SURGE_AI = "stock-tweets/surge-ai-sentiment.csv"
SURGE_AI_CRYPTO = "stock-tweets/surge-ai-crypto-sentiment.csv"
TWITTER_FINANCIAL_NEWS = "finance-sentiment/twitter-financial-news-train.csv"
VADER_REFERENCE = "vader/reference-3.3.2.tsv"

_checked = {}


class DataError(SystemExit):
    """A missing or changed data-root file (exits with the message)."""


def manifest():
    with open(MANIFEST, "rb") as f:
        return {e["path"]: e for e in tomllib.load(f)["file"]}


def root():
    """(the data root, where it came from)."""
    env = os.environ.get(VAR)
    if env:
        return env, f"{VAR}={env}"
    d = os.path.normpath(os.path.join(REPO, "..", "shared", "data"))
    return d, f"{VAR} is not set, so ../shared/data beside the clone: {d}"


def path(name):
    """The checked path of a data-root file listed in the manifest."""
    if name in _checked:
        return _checked[name]
    entries = manifest()
    if name not in entries:
        raise DataError(f"{name} is not in data/sources.toml: list it there before reading it")
    base, origin = root()
    full = os.path.join(base, name)
    try:
        with open(full, "rb") as f:
            got = hashlib.sha256(f.read()).hexdigest()
    except OSError as e:
        raise DataError(
            f"{full}: cannot be read ({e.strerror}). Third-party data sets are read in place from "
            f"the data root ({origin}): set {VAR} to the folder that holds them (the project's "
            f"shared/data), or put shared/ beside the clone; see data/README.md")
    want = entries[name]["sha256"]
    if got != want:
        raise DataError(
            f"{full} has sha256 {got}, not the {want} that data/sources.toml records: the file "
            f"changed. Restore it as published (see data/README.md), or, if the data set was "
            f"updated on purpose, record its new sum and rows in data/sources.toml")
    _checked[name] = full
    return full


def open_text(name):
    """The file opened for csv (UTF-8, newline='')."""
    return open(path(name), newline="", encoding="utf-8")


def check():
    """Checks every file of the manifest; returns the messages of those that fail."""
    errors = []
    for name in manifest():
        try:
            path(name)
        except DataError as e:
            errors.append(str(e))
    return errors


if __name__ == "__main__":
    if sys.argv[1:] != ["check"]:
        sys.exit(__doc__)
    base, origin = root()
    if not os.path.isdir(base):
        sys.exit(
            f"no data root: {base} is not a folder ({origin}).\n"
            f"The tests, benchmarks and training read third-party data sets in place ({len(manifest())} "
            f"files, listed in data/sources.toml). Set {VAR} to the folder that holds them (the "
            f"project's shared/data), or put shared/ beside the clone; see data/README.md. "
            f"(`make demo` runs generated tweets without it.)")
    errs = check()
    if errs:
        sys.exit("data root: " + "\n".join(errs))
    print(f"data root: {len(manifest())} files match data/sources.toml ({origin})")
