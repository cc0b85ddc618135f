"""Seeds the fuzz corpus (fuzz/corpus/, not committed) before `make fuzz`.

    python3 fuzz/seed.py

The corpus holds third-party post text, so it is never committed: it is built
here from the data root (read in place and checked, data/dataroot.py) and from
texts this project wrote, then grown by libFuzzer on this machine. Seeds:

- transform_records: records split at 0xFF, the first byte choosing raw data
  (odd) or base64 (even), each an X API v2 tweet object with its author;
- firehose_event: whole Firehose transformation events with base64 records.
"""

import base64
import csv
import json
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "data"))
import dataroot  # noqa: E402

OWN = [
    "$TSLA breaking out above resistance, calls printing \U0001F680 #Tesla",
    "$AAPL and $MSFT both red today, not worried",
    "$BRK.B quietly at an all-time high",
    "RT @someone: $NVDA earnings tonight",
    "\u00e9t\u00e9 $AMZN \u00fcber \U0001F680",
    "",
]


def tweet(i, text, when="2020-04-15T01:03:46.000Z"):
    return {
        "id": str(1250000000000000000 + i),
        "text": text,
        "created_at": when,
        "author_id": str(1000 + i % 50),
        "lang": "en",
        "public_metrics": {"retweet_count": i % 3, "reply_count": 0, "like_count": i % 20, "quote_count": 0},
        "author": {"id": str(1000 + i % 50), "username": f"user{i % 50}", "verified": False,
                   "public_metrics": {"followers_count": 100 + i}},
    }


def texts():
    out = list(OWN)
    with dataroot.open_text(dataroot.TABORDA) as f:
        out += [r["text"] for r in csv.DictReader(f, delimiter=";")]
    with dataroot.open_text(dataroot.TWITTER_FINANCIAL_NEWS) as f:
        out += [r["text"] for r in csv.DictReader(f)]
    return out


def main():
    rng = random.Random(7)
    pool = texts()
    records_dir = os.path.join(HERE, "corpus", "transform_records")
    events_dir = os.path.join(HERE, "corpus", "firehose_event")
    os.makedirs(records_dir, exist_ok=True)
    os.makedirs(events_dir, exist_ok=True)
    for n in range(150):
        batch = [json.dumps(tweet(n * 8 + k, rng.choice(pool)), ensure_ascii=n % 2 == 0).encode()
                 for k in range(1 + n % 5)]
        first = b"\x01" if n % 3 else b"\x00"
        with open(os.path.join(records_dir, f"seed-{n:03}"), "wb") as f:
            f.write(first + b"\xff".join(batch))
        event = {
            "invocationId": f"00000000-0000-4000-8000-{n:012}",
            "deliveryStreamArn": "arn:aws:firehose:us-east-1:123456789012:deliverystream/tickerpulse-tweets",
            "region": "us-east-1",
            "records": [{"recordId": str(k), "approximateArrivalTimestamp": 1586912626000 + k,
                         "data": base64.b64encode(b).decode()} for k, b in enumerate(batch)],
        }
        with open(os.path.join(events_dir, f"seed-{n:03}"), "w", encoding="utf-8") as f:
            json.dump(event, f, indent=2 if n % 2 else None)
    print(f"seeded fuzz/corpus: 150 inputs a target from {len(pool)} texts")


if __name__ == "__main__":
    main()
