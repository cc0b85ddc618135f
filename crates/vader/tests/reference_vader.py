"""Scores a JSON list of texts (stdin) with vaderSentiment 3.3.2; writes a JSON
list of [compound, pos, neu, neg] (stdout). Used by tests/random_sentences.rs."""
import json
import sys

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

analyzer = SentimentIntensityAnalyzer()
texts = json.load(sys.stdin)
out = []
for t in texts:
    s = analyzer.polarity_scores(t)
    out.append([s["compound"], s["pos"], s["neu"], s["neg"]])
json.dump(out, sys.stdout)
