"""Scratch (docs/nlu.md, second round): CLINC150 LR over TF-IDF + cached embeddings; val/test probabilities
to var/scratch/clinc-probs-TAG.npz.  Usage: nlu_scratch_clinc.py use[,e5] C DENSE_WEIGHT
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
from sklearn.preprocessing import normalize
sys.path.insert(0, str(HERE))
from nlu_benchmarks import load_dataset, OOS
from threadpoolctl import threadpool_limits
name = "clinc150"
data = load_dataset(name)
splits = ["train", "test", "val", "oos_val", "oos_test"]
texts = {s: [t for t, _ in data[s]] for s in splits}
y = [l for _, l in data["train"]]
dense = tuple(sys.argv[1].split(",")); C = float(sys.argv[2]); dw = float(sys.argv[3])
vecs = [TfidfVectorizer(token_pattern=r"(?u)\b\w+\b", ngram_range=(1,2), sublinear_tf=True),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2,5), sublinear_tf=True, min_df=2)]
for v in vecs: v.fit(texts["train"])
X = {}
for s in splits:
    b = [normalize(v.transform(texts[s])) for v in vecs]
    b += [csr_matrix(normalize(np.load(CACHE / f"{d}-{name}-{s}.npy")) * dw) for d in dense]
    X[s] = hstack(b, format="csr")
with threadpool_limits(1):
    clf = LogisticRegression(C=C, max_iter=1000, random_state=13).fit(X["train"], y)
    P = {s: clf.predict_proba(X[s]) for s in splits[1:]}
tag = f"{'+'.join(dense)}-{C}-{dw}"
np.savez(CACHE / f"clinc-probs-{tag}.npz", classes=clf.classes_, **P)
print(tag, "n_iter", clf.n_iter_)
