"""Builds the ticker finder's labelled sample (labels.csv: id, dataset, tickers;
no texts) from real posts read in place from the data root, with fixed seeds:
`python3 data/tickers-sample/build.py`. The test rebuilds each text from its id
in the same way (crates/core/tests/ticker_sample.rs).

- 300 taborda-2020 tweets (CC BY 4.0) with every `$` of a cashtag removed, as
  posts are written on Reddit and Bluesky (`$TSLA` -> `TSLA`). Their first
  label is the author's own marking: the cashtags they wrote that are on the
  watch list.
- 200 Twitter Financial News headlines (MIT) without a `$`, which name
  companies in words (`Tesla`, `Goldman Sachs`). Their first label is empty.

A reader then went through every row where the finder and the first label
disagree, and through the TFN rows, and wrote the corrections in
`review.csv` (id, tickers, note); `labels.csv` is the first label with the
review applied. The reader saw the finder's answers for the disagreements,
which can only have helped its measured recall on rows it found something
in: see docs/sources.md for what this sample can and cannot show.
"""
import csv
import io
import os
import random
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))
import dataroot  # noqa: E402
CASHTAG = re.compile(r"(?<![A-Za-z0-9])\$([A-Za-z]{1,6}(?:\.[A-Za-z]{1,2})?)(?![A-Za-z0-9_])")


def watchlist():
    with open(os.path.join(ROOT, "crates/core/data/sp500.csv"), encoding="utf-8") as f:
        return {r["Symbol"].upper() for r in csv.DictReader(f)}


def main():
    watched = watchlist()
    rows = []
    with dataroot.open_text(dataroot.TABORDA) as f:
        taborda = list(csv.DictReader(f, delimiter=";"))
    rng = random.Random(24)
    # Tweets that mention something: a cashtag, or a capitalized word.
    pool = [t for t in taborda if not t["text"].startswith("RT @")]
    for t in rng.sample(pool, 300):
        text = " ".join(t["text"].split())
        gold = []
        for m in CASHTAG.finditer(text):
            s = m.group(1).upper()
            if s in watched and s not in gold:
                gold.append(s)
        rows.append(("taborda-" + t["id"], "taborda-2020", CASHTAG.sub(lambda m: m.group(1), text), gold))
    with dataroot.open_text(dataroot.TWITTER_FINANCIAL_NEWS) as f:
        tfn = [(i, r["text"]) for i, r in enumerate(csv.DictReader(f)) if "$" not in r["text"]]
    rng = random.Random(2024)
    for i, text in rng.sample(tfn, 200):
        rows.append(("tfn-%d" % i, "twitter-financial-news", " ".join(text.split()), []))
    review = {}
    path = os.path.join(HERE, "review.csv")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for r in csv.DictReader(f):
                review[r["id"]] = [s for s in r["tickers"].split("|") if s]
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["id", "dataset", "tickers"])
    for rid, ds, _text, gold in rows:
        w.writerow([rid, ds, "|".join(review.get(rid, gold))])
    with open(os.path.join(HERE, "labels.csv"), "w", encoding="utf-8") as f:
        f.write(out.getvalue())


if __name__ == "__main__":
    main()
