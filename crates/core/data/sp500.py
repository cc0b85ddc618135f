"""Regenerates sp500.csv, the default watch list, from a pinned registry package.

    python3 crates/core/data/sp500.py          # make watchlist: writes sp500.csv
    python3 crates/core/data/sp500.py check    # make watchlist-check: sp500.csv is what the package gives

The list is the S&P 500 of `pytickersymbols` 1.17.10 on PyPI (MIT; pinned in
requirements-dev.txt), as `Symbol,Security`: the package's symbol (class shares
with a dot, `BRK.B`) and company name, sorted by symbol.
"""

import csv
import importlib.metadata
import io
import os
import sys

PACKAGE = "pytickersymbols"
VERSION = "1.17.10"
INDEX = "S&P 500"
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "sp500.csv")


def generate():
    try:
        version = importlib.metadata.version(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        sys.exit(f"{PACKAGE} is not installed: run `make setup` (requirements-dev.txt pins {VERSION})")
    if version != VERSION:
        sys.exit(f"{PACKAGE} {version} is installed; the watch list is made from {VERSION}")
    from pytickersymbols import PyTickerSymbols

    rows = {}
    for company in PyTickerSymbols().get_stocks_by_index(INDEX):
        rows[company["symbol"].strip().upper()] = " ".join(company["name"].split())
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["Symbol", "Security"])
    for symbol in sorted(rows):
        w.writerow([symbol, rows[symbol]])
    return out.getvalue()


if __name__ == "__main__":
    text = generate()
    if sys.argv[1:] == ["check"]:
        with open(OUT, encoding="utf-8") as f:
            if f.read() != text:
                sys.exit("crates/core/data/sp500.csv is not what pytickersymbols 1.17.10 gives: run `make watchlist`")
        print(f"crates/core/data/sp500.csv: {text.count(chr(10)) - 1} symbols, {PACKAGE} {VERSION}'s {INDEX}")
    elif sys.argv[1:]:
        sys.exit(__doc__)
    else:
        with open(OUT, "w", encoding="utf-8") as f:
            f.write(text)
        print(f"wrote crates/core/data/sp500.csv: {text.count(chr(10)) - 1} symbols")
