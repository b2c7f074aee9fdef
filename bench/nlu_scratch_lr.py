"""Scratch: logistic regression over cached sentence embeddings (var/scratch/*.npy) + n-gram features.

Usage: nlu_scratch_lr.py DATASET VARIANT...   variant = sparse:C:dense_weight[:class_weight][:e5]
  sparse: count (word counts + char_wb 2-5 counts, like config.yml), tfidf (word 1-2 + char_wb 2-5,
  sublinear tf-idf), none. Each block is L2-normalised per row (as LinearIntentClassifier does).
CLINC150: oos threshold on max probability chosen on val (max in-scope acc with val oos recall >= 0.60).
"""
import sys, time
from pathlib import Path
import numpy as np
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import normalize
sys.path.insert(0, str(Path(__file__).resolve().parent))
from nlu_benchmarks import load_dataset, OOS

CACHE = Path(__file__).resolve().parent.parent / "var" / "scratch"
name = sys.argv[1]
data = load_dataset(name)
splits = ["train", "test"] + (["val", "oos_val", "oos_test"] if name == "clinc150" else [])


def vectorizers(kind):
    if kind == "count":
        return [CountVectorizer(token_pattern=r"\S+"), CountVectorizer(analyzer="char_wb", ngram_range=(2, 5))]
    if kind == "tfidf":
        return [TfidfVectorizer(token_pattern=r"(?u)\b\w+\b", ngram_range=(1, 2), sublinear_tf=True),
                TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)]
    return []


for variant in sys.argv[2:]:
    parts = variant.split(":")
    kind, C, dw = parts[0], float(parts[1]), float(parts[2])
    cw = "balanced" if "bal" in parts[3:] else None
    dense_names = ["use"] + (["e5"] if "e5" in parts[3:] else []) 
    if "noUSE" in parts[3:]:
        dense_names.remove("use")
    t0 = time.time()
    vecs = vectorizers(kind)
    texts = {s: [t for t, _ in data[s]] for s in splits}
    X = {}
    for v in vecs:
        v.fit(texts["train"])
    for s in splits:
        blocks = [normalize(v.transform(texts[s])) for v in vecs]
        blocks += [csr_matrix(normalize(np.load(CACHE / f"{d}-{name}-{s}.npy")) * dw) for d in dense_names]
        X[s] = hstack(blocks, format="csr")
    y = [l for _, l in data["train"]]
    clf = LogisticRegression(C=C, max_iter=300, random_state=13, class_weight=cw).fit(X["train"], y)
    P = {s: clf.predict_proba(X[s]) for s in splits[1:]}
    cls = clf.classes_
    top = {s: cls[P[s].argmax(1)] for s in P}
    mx = {s: P[s].max(1) for s in P}
    gold = np.array([l for _, l in data["test"]])
    res = f"{name} {variant}: test acc (no fallback) {100 * (top['test'] == gold).mean():.2f}"
    if name == "clinc150":
        vg = np.array([l for _, l in data["val"]])

        def sc(s_in, s_oos, g, t):
            ins = ((top[s_in] == g) & (mx[s_in] >= t)).mean()
            oos = ((top[s_oos] == OOS) | (mx[s_oos] < t)).mean()
            return 100 * ins, 100 * oos
        cands = [round(0.01 * i, 2) for i in range(0, 96)]
        ok = [t for t in cands if sc("val", "oos_val", vg, t)[1] >= 60]
        tv = max(ok, key=lambda t: sc("val", "oos_val", vg, t)[0]) if ok else None
        tsum = max(cands, key=lambda t: sum(sc("val", "oos_val", vg, t)))
        res += f" | val-chosen t={tv}: test in-scope/oos {sc('test', 'oos_test', gold, tv)[0]:.2f}/{sc('test', 'oos_test', gold, tv)[1]:.1f}"
        res += f" (val {sc('val', 'oos_val', vg, tv)[0]:.2f}/{sc('val', 'oos_val', vg, tv)[1]:.1f})"
        res += f" | sum-criterion t={tsum}: {sc('test', 'oos_test', gold, tsum)[0]:.2f}/{sc('test', 'oos_test', gold, tsum)[1]:.1f}"
        res += f" | t=0.45: {sc('test', 'oos_test', gold, 0.45)[0]:.2f}/{sc('test', 'oos_test', gold, 0.45)[1]:.1f}"
    print(res, f"[{time.time() - t0:.0f}s]", flush=True)
