"""Scratch (docs/nlu.md, second round): sklearn MLP on cached embeddings.  Usage: nlu_scratch_mlp.py DATASET use,e5 HIDDEN ALPHA
"""
from pathlib import Path
HERE = Path(__file__).resolve().parent
CACHE = HERE.parent / "var" / "scratch"
import sys, time
from pathlib import Path
import numpy as np
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import normalize
sys.path.insert(0, str(HERE))
from nlu_benchmarks import load_dataset
from threadpoolctl import threadpool_limits
name = sys.argv[1]; dense = sys.argv[2].split(","); hidden = int(sys.argv[3]); alpha = float(sys.argv[4])
data = load_dataset(name)
y = np.array([l for _, l in data["train"]]); gold = np.array([l for _, l in data["test"]])
def X(s): return np.hstack([normalize(np.load(CACHE / f"{d}-{name}-{s}.npy")) for d in dense])
t0 = time.time()
with threadpool_limits(1):
    clf = MLPClassifier(hidden_layer_sizes=(hidden,), alpha=alpha, max_iter=200, early_stopping=True, validation_fraction=0.1, n_iter_no_change=10, random_state=13).fit(X("train"), y)
    P = clf.predict_proba(X("test"))
print(name, dense, hidden, alpha, "test %.2f" % (100*(clf.classes_[P.argmax(1)] == gold).mean()), "iters", clf.n_iter_, f"[{time.time()-t0:.0f}s]", flush=True)
np.save(CACHE / f"mlp-{name}-{'+'.join(dense)}-{hidden}-{alpha}.npy", P)
