"""Scratch (docs/nlu.md, second round): TF-IDF + cached embeddings with LR or linear SVM.

Usage: nlu_scratch_variants.py DATASET "C=30,dense=('use','e5')" "clf='svm',C=1,it=5000" ...
Each spec is keyword arguments; test probabilities/scores go to var/scratch/scores-DATASET-SPEC.npy.
"""
from pathlib import Path
HERE = Path(__file__).resolve().parent
CACHE = HERE.parent / "var" / "scratch"
import sys, time
from pathlib import Path
import numpy as np
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC
from sklearn.preprocessing import normalize
sys.path.insert(0, str(HERE))
from nlu_benchmarks import load_dataset, OOS
from threadpoolctl import threadpool_limits
name = sys.argv[1]
data = load_dataset(name)
splits = ["train", "test"] + (["val", "oos_val", "oos_test"] if name == "clinc150" else [])
texts = {s: [t for t, _ in data[s]] for s in splits}
y = [l for _, l in data["train"]]
gold = np.array([l for _, l in data["test"]])

def feats(word=(1,2), char=(2,5), wmin=1, cmin=2, dense=("use",), dw=2.0, analyzer="char_wb"):
    vecs = []
    if word: vecs.append(TfidfVectorizer(token_pattern=r"(?u)\b\w+\b", ngram_range=word, sublinear_tf=True, min_df=wmin))
    if char: vecs.append(TfidfVectorizer(analyzer=analyzer, ngram_range=char, sublinear_tf=True, min_df=cmin))
    for v in vecs: v.fit(texts["train"])
    X = {}
    for s in splits:
        b = [normalize(v.transform(texts[s])) for v in vecs]
        b += [csr_matrix(normalize(np.load(CACHE / f"{d}-{name}-{s}.npy")) * dw) for d in dense]
        X[s] = hstack(b, format="csr")
    return X

for spec in sys.argv[2:]:
    t0 = time.time()
    cfg = eval(f"dict({spec})")
    clf_kind = cfg.pop("clf", "lr"); C = cfg.pop("C", 30); it = cfg.pop("it", 300)
    X = feats(**cfg)
    with threadpool_limits(1):
        if clf_kind == "lr":
            clf = LogisticRegression(C=C, max_iter=it, random_state=13).fit(X["train"], y)
        else:
            clf = LinearSVC(C=C, max_iter=it).fit(X["train"], y)
        S = {s: (clf.predict_proba(X[s]) if clf_kind == "lr" else clf.decision_function(X[s])) for s in splits[1:]}
    top = S["test"].argmax(1)
    acc = 100 * (clf.classes_[top] == gold).mean()
    print(f"{name} {spec}: {acc:.2f} n_iter={getattr(clf,'n_iter_',None)} [{time.time()-t0:.0f}s]", flush=True)
    np.save(CACHE / ("scores-" + name + "-" + spec.replace("=", "").replace(",", "_").replace("(", "").replace(")", "").replace("'", "") + ".npy"), S["test"])
