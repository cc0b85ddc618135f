"""Trains the `model` sentiment mode and evaluates it; `make train-sentiment`.

    python training/sentiment/train.py train    # writes crates/vader/data/model.bin
    python training/sentiment/train.py eval     # k-fold and cross-source tables
    python training/sentiment/train.py score    # JSON lines in, probabilities out
    python training/sentiment/train.py check    # the committed weights rebuild byte for byte
    python training/sentiment/train.py grid     # how far the model's knobs go across sources (an oracle)
    python training/sentiment/train.py eval-written  # real-source folds without and with the written chatter

The data are the labelled sets of the data root, read in place and checked
against data/sources.toml (`data/dataroot.py`; see `load`), and this project's
own labels in `data/taborda-2020/`; the finance-mode VADER
scores that the model takes as features come from the project's own scorer
(`tickerpulse score --mode finance`), the same code the Lambda runs. Seeds are
fixed, BLAS runs on one thread, and on x86-64 numpy and OpenBLAS use the same
SIMD code whatever the CPU, so `train` writes the same bytes every time.
"""

import os
import platform

# One BLAS thread, forced: a sum split over threads rounds differently, and
# the weights must not depend on the caller's environment.
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["OPENBLAS_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"
# numpy and OpenBLAS pick their SIMD kernels by CPU at run time, and kernels
# round differently: L-BFGS then stops at a slightly different point (weights
# differing in the 5th digit; weights committed from one machine failed
# `check` on another). Pinned to kernels every x86-64 CPU of the last fifteen
# years runs (numpy's x86-64-v2 baseline, OpenBLAS's Nehalem), set before numpy
# loads. ARM machines keep their own kernels, and their weights may differ from
# the committed ones in the same way.
if platform.machine().lower() in ("x86_64", "amd64"):
    os.environ["NPY_DISABLE_CPU_FEATURES"] = "X86_V3 X86_V4 AVX512_ICL AVX512_SPR"
    os.environ["OPENBLAS_CORETYPE"] = "Nehalem"

import csv  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import struct  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
from scipy import sparse  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import StratifiedGroupKFold  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import features  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data"))
import dataroot  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
WEIGHTS = os.path.join(ROOT, "crates", "vader", "data", "model.bin")
CLASSES = ["negative", "neutral", "positive"]
# Fixed before any evaluation and not tuned on any test set: L2 strength and
# class weights that make every class count alike (the metric is macro-F1).
C = 1.0
MAGIC = b"TPSM0001"


# Where each source comes from and under what license (every row the model
# trains on carries its source; docs/sentiment.md has the details).
LICENSES = {
    "twitter-financial-news": "MIT (zeroshot/twitter-financial-news-sentiment v1.0.0)",
    "taborda-2020": "CC BY 4.0 (Taborda et al., DOI 10.21227/g8vy-5w61)",
    "taborda-2020-agent": "tweets CC BY 4.0 (Taborda et al.); labels this project's (GUIDELINE.md)",
    "surge-ai": "MIT (github.com/surge-ai/stock-sentiment)",
    "surge-ai-crypto": "MIT (github.com/surge-ai/crypto-sentiment)",
}


def agreement():
    """The blind labels of the 1,300 human-labelled taborda rows against the
    human labels: raw agreement, Cohen's kappa and the confusion matrix."""
    base = os.path.join(ROOT, "data", "taborda-2020")
    with dataroot.open_text(dataroot.TABORDA) as f:
        human = {r["id"]: r["sentiment"] for r in csv.DictReader(f, delimiter=";") if r["sentiment"]}
    with open(os.path.join(base, "blind-agent-labels.csv"), newline="", encoding="utf-8") as f:
        blind = {r["id"]: r["label"] for r in csv.DictReader(f)}
    pairs = [(human[i], blind[i]) for i in human if i in blind]
    n = len(pairs)
    observed = sum(h == a for h, a in pairs) / n
    expected = sum(
        sum(h == c for h, _ in pairs) * sum(a == c for _, a in pairs) for c in CLASSES
    ) / (n * n)
    kappa = (observed - expected) / (1 - expected)
    f1 = macro_f1([h for h, _ in pairs], [a for _, a in pairs], CLASSES)
    print(f"blind agent labels vs the human labels of taborda-2020: {n} rows, "
          f"agreement {observed:.3f}, Cohen's kappa {kappa:.3f}, macro-F1 {f1:.3f}")
    print("  rows: human label; columns: agent label (negative, neutral, positive)")
    for h in CLASSES:
        print(f"  {h:>8}: {[sum(1 for x, a in pairs if x == h and a == c) for c in CLASSES]}")


def load():
    """(source, text, label) of every labelled row the model may train on."""
    rows = []
    with dataroot.open_text(dataroot.TWITTER_FINANCIAL_NEWS) as f:
        tfn = {"0": "negative", "1": "positive", "2": "neutral"}
        for r in csv.DictReader(f):
            rows.append(("twitter-financial-news", r["text"], tfn[r["label"]]))
    with dataroot.open_text(dataroot.TABORDA) as f:
        for r in csv.DictReader(f, delimiter=";"):
            if r["sentiment"]:
                rows.append(("taborda-2020", r["text"], r["sentiment"]))
    with dataroot.open_text(dataroot.SURGE_AI) as f:
        for r in csv.DictReader(f):
            rows.append(("surge-ai", r["Tweet Text"], r["Sentiment"].lower()))
    with dataroot.open_text(dataroot.SURGE_AI_CRYPTO) as f:
        for r in csv.DictReader(f):
            rows.append(("surge-ai-crypto", r["Comment Text"], r["Sentiment"].lower()))
    path = os.path.join(ROOT, "data", "taborda-2020", "agent-labels.csv")
    if os.path.exists(path):
        texts = {}
        with dataroot.open_text(dataroot.TABORDA) as f:
            for r in csv.DictReader(f, delimiter=";"):
                if not r["sentiment"]:
                    texts[r["id"]] = r["text"]
        with open(path, newline="", encoding="utf-8") as f:
            for r in csv.DictReader(f):
                if r["id"] in texts:
                    rows.append(("taborda-2020-agent", texts[r["id"]], r["label"]))
    return rows


def cli_scores(texts, mode):
    """(compound, pos, neu, neg) of each text from the project's own scorer."""
    cargo = os.environ.get("CARGO", "cargo")
    cmd = [cargo, "run", "--quiet", "-p", "tickerpulse", "--", "score", "--mode", mode]
    data = "".join(t.replace("\r", " ").replace("\n", " ") + "\n" for t in texts)
    out = subprocess.run(cmd, input=data.encode(), capture_output=True, check=True, cwd=ROOT).stdout
    lines = out.decode().splitlines()
    assert len(lines) == len(texts), (len(lines), len(texts))
    return [tuple(json.loads(l)[k] for k in ("compound", "pos", "neu", "neg")) for l in lines]


def matrix(texts, fins):
    """The sparse feature matrix of texts, given their finance-mode scores."""
    indptr, indices, values = [0], [], []
    for text, fin in zip(texts, fins):
        row = features.hashed(text)
        for col in sorted(row):
            indices.append(col)
            values.append(row[col])
        for i, v in enumerate(features.dense(fin)):
            indices.append(features.BUCKETS + i)
            values.append(v)
        indptr.append(len(indices))
    shape = (len(texts), features.BUCKETS + features.DENSE)
    return sparse.csr_matrix((np.array(values), np.array(indices), np.array(indptr)), shape=shape)


def group_key(text):
    """Rows with the same words (URLs, mentions and cashtags aside) are one group."""
    return hashlib.sha1(b" ".join(features.tokens(text))).hexdigest()


def fit(x, y):
    model = LogisticRegression(C=C, class_weight="balanced", max_iter=5000, tol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.fit(x, y)
    # The shipped weights are float32: predict with exactly those.
    model.coef_ = model.coef_.astype(np.float32).astype(np.float64)
    model.intercept_ = model.intercept_.astype(np.float32).astype(np.float64)
    return model


def predict(model, x, binary):
    """Labels; on a two-class set, the likelier of positive and negative."""
    p = model.predict_proba(x)
    classes = list(model.classes_)
    if binary:
        pos, neg = classes.index("positive"), classes.index("negative")
        return np.where(p[:, pos] >= p[:, neg], "positive", "negative")
    return np.array(classes)[p.argmax(axis=1)]


def lexicon_label(fin, binary):
    c = fin[0]
    if binary:
        return "positive" if c >= 0 else "negative"
    return "positive" if c >= 0.05 else ("negative" if c <= -0.05 else "neutral")


def classes_of(labels):
    """(binary, the classes scored): a set labelled only positive and negative
    is scored on those two."""
    binary = set(labels) <= {"positive", "negative"}
    return binary, (["negative", "positive"] if binary else CLASSES)


def others(sources, groups, s):
    """The rows a model tested on source `s` may train on: every other
    source's, minus any row whose words appear in `s`."""
    test = sources == s
    return ~test & ~np.isin(groups, groups[test])


def macro_f1(truth, pred, labels):
    f1s = per_class_f1(truth, pred, labels)
    return sum(f1s) / len(f1s)


def per_class_f1(truth, pred, labels):
    """F1 of each of `labels`, in order."""
    out = []
    for c in labels:
        tp = sum(1 for t, p in zip(truth, pred) if t == c and p == c)
        fp = sum(1 for t, p in zip(truth, pred) if t != c and p == c)
        fn = sum(1 for t, p in zip(truth, pred) if t == c and p != c)
        out.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return out


def dedupe(rows):
    """One row per (source, words, label): retweets and copies count once."""
    seen, out = set(), []
    for r in rows:
        key = (r[0], group_key(r[1]), r[2])
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


def prepared():
    rows = dedupe(load())
    texts = [r[1] for r in rows]
    fins = cli_scores(texts, "finance")
    vaders = cli_scores(texts, "vader")
    x = matrix(texts, fins)
    y = np.array([r[2] for r in rows])
    sources = np.array([r[0] for r in rows])
    groups = np.array([group_key(t) for t in texts])
    return rows, x, y, sources, groups, fins, vaders


def evaluate():
    agreement()
    rows, x, y, sources, groups, fins, vaders = prepared()
    names = sorted(set(sources))
    print(f"rows after de-duplication: {len(rows)}")
    for s in names:
        counts = {c: int(((sources == s) & (y == c)).sum()) for c in CLASSES}
        print(f"  {s}: {int((sources == s).sum())} {counts}; {LICENSES[s]}")

    def table(title, pred_of):
        print(f"\n{title}\n")
        print("| source | rows | classes | vader | finance | model | model - finance |")
        print("|---|---|---|---|---|---|---|")
        gains = []
        for s in names:
            m = sources == s
            binary, labels = classes_of(y[m])
            truth = list(y[m])
            idx = np.flatnonzero(m)
            v = macro_f1(truth, [lexicon_label(vaders[i], binary) for i in idx], labels)
            f = macro_f1(truth, [lexicon_label(fins[i], binary) for i in idx], labels)
            p = macro_f1(truth, list(pred_of(s, binary)), labels)
            gains.append(p - f)
            print(f"| {s} | {m.sum()} | {len(labels)} | {v:.3f} | {f:.3f} | {p:.3f} | {p - f:+.3f} |")
        print(f"\nmean gain over finance: {np.mean(gains):+.3f}")

    # k-fold: 5 folds stratified by source and label, a group never split.
    strata = np.array([f"{s}/{c}" for s, c in zip(sources, y)])
    oof_multi = np.empty(len(y), dtype=object)
    oof_binary = np.empty(len(y), dtype=object)
    folds = StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=0)
    for train, test in folds.split(x, strata, groups):
        model = fit(x[train], y[train])
        oof_multi[test] = predict(model, x[test], False)
        oof_binary[test] = predict(model, x[test], True)
    table(
        "5-fold cross-validation (all sources pooled; each row predicted by the fold that did not train on it)",
        lambda s, binary: (oof_binary if binary else oof_multi)[sources == s],
    )

    # Cross-source: train on every other source (minus any row whose words
    # appear in the held-out source), test on the held-out one.
    def held_out(strict):
        def run(s, binary):
            test = sources == s
            train = others(sources, groups, s)
            if strict:  # no other labels of the same corpus either
                corpus = s.split("-agent")[0]
                train &= ~((sources == corpus) | (sources == corpus + "-agent"))
            model = fit(x[train], y[train])
            return predict(model, x[test], binary)

        return run

    table("Cross-source (train on all other sources, test on this one)", held_out(False))
    if any(s.endswith("-agent") for s in names):
        table(
            "Cross-source, strict (the held-out corpus's other labels, human or agent, left out too)",
            held_out(True),
        )


def grid():
    """How far the model's knobs go across sources: for every combination of
    lexicon weight (the four finance-mode features multiplied by 1, 4 or 16,
    so that L2 holds their weights back less), L2 strength C and balancing
    (classes, or classes within equally weighted sources), the cross-source
    table's gains, scored on the held-out sources themselves. Picking the best
    row would be fitting to the test sources: the best row is an upper bound on
    what these knobs can do (an oracle), not a result."""
    _, x, y, sources, groups, fins, _ = prepared()
    names = sorted(set(sources))
    finance = {}
    for s in names:
        m = sources == s
        binary, labels = classes_of(y[m])
        finance[s] = (binary, labels, macro_f1(list(y[m]), [lexicon_label(fins[i], binary) for i in np.flatnonzero(m)], labels))

    def weights(idx, by_source):
        w = np.empty(len(idx))
        parts = [sources[idx]] if by_source else [np.full(len(idx), "")]
        for part in parts:
            for s in set(part):
                m = part == s
                present = sorted(set(y[idx][m]))
                for c in present:
                    mc = m & (y[idx] == c)
                    w[mc] = len(idx) / (len(set(part)) * len(present) * mc.sum())
        return w

    print("| lexicon weight | C | balance | " + " | ".join(names) + " | mean |")
    print("|---|---|---|" + "---|" * (len(names) + 1))
    best = None
    for scale in (1, 4, 16):
        xs = (x @ sparse.diags(np.r_[np.ones(features.BUCKETS), np.full(features.DENSE, float(scale))])).tocsr()
        for c in (0.03, 0.1, 0.3, 1.0):
            for by_source in (False, True):
                gains = []
                for s in names:
                    test = sources == s
                    train_idx = np.flatnonzero(others(sources, groups, s))
                    model = LogisticRegression(C=c, max_iter=5000, tol=1e-6)
                    with warnings.catch_warnings():
                        warnings.simplefilter("error")
                        model.fit(xs[train_idx], y[train_idx], sample_weight=weights(train_idx, by_source))
                    binary, labels, f = finance[s]
                    gains.append(macro_f1(list(y[test]), list(predict(model, xs[test], binary)), labels) - f)
                mean = float(np.mean(gains))
                row = (scale, c, "sources, classes" if by_source else "classes")
                print(f"| {row[0]} | {row[1]} | {row[2]} | " + " | ".join(f"{g:+.3f}" for g in gains) + f" | {mean:+.3f} |", flush=True)
                if best is None or mean > best[0]:
                    best = (mean, row)
    print(f"\nbest mean gain over finance (an oracle: chosen on the test sources): {best[0]:+.3f} at {best[1]}")


WRITTEN = os.path.join(ROOT, "training", "sentiment", "written-chatter.csv")


def written_rows():
    """(source, text, label) of the written chatter set (`written.py`)."""
    with open(WRITTEN, newline="", encoding="utf-8") as f:
        return [("synthetic", r["text"], r["label"]) for r in csv.DictReader(f)]


def eval_written():
    """Does the written chatter set help on real posts? 5-fold over the real
    sources only, each fold's model trained without and with the written posts
    (a written post is never tested on, and one whose words appear in the test
    fold is left out of that fold's training). Per source and class, and the
    paired per-fold difference of macro-F1 with its standard error: the noise
    the decision is weighed against."""
    real = dedupe(load())
    extra = dedupe(written_rows())
    texts = [r[1] for r in real] + [r[1] for r in extra]
    fins = cli_scores(texts, "finance")
    x_all = matrix(texts, fins)
    n = len(real)
    x, xw = x_all[:n], x_all[n:]
    y = np.array([r[2] for r in real])
    yw = np.array([r[2] for r in extra])
    sources = np.array([r[0] for r in real])
    groups = np.array([group_key(r[1]) for r in real])
    gw = np.array([group_key(r[1]) for r in extra])
    print(f"real rows {n}; written rows {len(extra)} "
          f"{ {c: int((yw == c).sum()) for c in CLASSES} }")
    strata = np.array([f"{s}/{c}" for s, c in zip(sources, y)])
    folds = list(StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=0).split(x, strata, groups))
    oof = {k: {b: np.empty(n, dtype=object) for b in (False, True)} for k in ("before", "after")}
    fold_of = np.empty(n, dtype=int)
    for k, (train, test) in enumerate(folds):
        fold_of[test] = k
        keep = ~np.isin(gw, groups[test])
        before = fit(x[train], y[train])
        after = fit(sparse.vstack([x[train], xw[keep]]).tocsr(), np.r_[y[train], yw[keep]])
        for name, model in (("before", before), ("after", after)):
            for binary in (False, True):
                oof[name][binary][test] = predict(model, x[test], binary)
        print(f"fold {k + 1}: trained on {len(train)} real rows, {int(keep.sum())} written", flush=True)
    print("\n| source | rows | class | F1 before | F1 after | change |")
    print("|---|---|---|---|---|---|")
    summary = []
    for s in sorted(set(sources)):
        m = sources == s
        binary, labels = classes_of(y[m])
        truth = list(y[m])
        b = per_class_f1(truth, list(oof["before"][binary][m]), labels)
        a = per_class_f1(truth, list(oof["after"][binary][m]), labels)
        for c, fb, fa in zip(labels, b, a):
            print(f"| {s} | {int(m.sum())} | {c} | {fb:.3f} | {fa:.3f} | {fa - fb:+.3f} |")
        diffs = []
        for k in range(len(folds)):
            mk = m & (fold_of == k)
            t = list(y[mk])
            diffs.append(macro_f1(t, list(oof["after"][binary][mk]), labels)
                         - macro_f1(t, list(oof["before"][binary][mk]), labels))
        se = float(np.std(diffs, ddof=1) / np.sqrt(len(diffs)))
        summary.append((s, macro_f1(truth, list(oof["before"][binary][m]), labels),
                        macro_f1(truth, list(oof["after"][binary][m]), labels), float(np.mean(diffs)), se))
    print("\n| source | macro-F1 before | after | mean per-fold change | its standard error |")
    print("|---|---|---|---|---|")
    for s, b, a, d, se in summary:
        print(f"| {s} | {b:.3f} | {a:.3f} | {d:+.3f} | {se:.3f} |")


def write_weights(model, path):
    classes = list(model.classes_)
    assert classes == CLASSES, classes
    coef = model.coef_.astype("<f4")  # (3, features)
    intercept = model.intercept_.astype("<f4")
    with open(path, "wb") as f:
        f.write(MAGIC)
        f.write(struct.pack("<III", features.BUCKETS, features.DENSE, len(CLASSES)))
        f.write(intercept.tobytes())
        # Column-major: a feature's three weights are adjacent (one cache line).
        f.write(np.ascontiguousarray(coef.T).tobytes())


def read_model(path):
    """A scikit-learn model holding the shipped weights."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == MAGIC
    buckets, dense, k = struct.unpack("<III", data[8:20])
    intercept = np.frombuffer(data[20 : 20 + 4 * k], dtype="<f4")
    coef = np.frombuffer(data[20 + 4 * k :], dtype="<f4").reshape(buckets + dense, k).T
    model = LogisticRegression()
    model.classes_ = np.array(CLASSES)
    model.coef_ = coef.astype(np.float64)
    model.intercept_ = intercept.astype(np.float64)
    return model


def train():
    rows, x, y, *_ = prepared()
    model = fit(x, y)
    write_weights(model, WEIGHTS)
    digest = hashlib.sha256(open(WEIGHTS, "rb").read()).hexdigest()
    print(f"trained on {len(rows)} rows; wrote {os.path.relpath(WEIGHTS, ROOT)} sha256 {digest}")


def check():
    """Rebuilds the weights into a scratch file and compares them byte for byte."""
    global WEIGHTS
    committed = WEIGHTS
    WEIGHTS = committed + ".check"
    try:
        train()
        same = open(WEIGHTS, "rb").read() == open(committed, "rb").read()
    finally:
        if os.path.exists(WEIGHTS):
            os.remove(WEIGHTS)
        WEIGHTS = committed
    if not same:
        sys.exit(f"{os.path.relpath(committed, ROOT)} is not what the training data make: run `make train-sentiment`")
    print("the committed weights rebuild byte for byte")


def score():
    """JSON lines {"text", "fin": [compound, pos, neu, neg]} in; the shipped
    model's probabilities [negative, neutral, positive] out, by scikit-learn."""
    model = read_model(WEIGHTS)
    items = [json.loads(l) for l in sys.stdin if l.strip()]
    if not items:
        return
    x = matrix([i["text"] for i in items], [i["fin"] for i in items])
    for p in model.predict_proba(x):
        print(json.dumps([float(v) for v in p]))


if __name__ == "__main__":
    {"train": train, "eval": evaluate, "score": score, "check": check, "grid": grid,
     "eval-written": eval_written}[sys.argv[1] if len(sys.argv) > 1 else "train"]()
