"""Scratch: CLINC150 in-scope accuracy / oos recall per threshold from a nlu_scratch_clinc.py .npz (val and test).
"""
from pathlib import Path
HERE = Path(__file__).resolve().parent
CACHE = HERE.parent / "var" / "scratch"
import sys
import numpy as np
sys.path.insert(0, str(HERE))
from nlu_benchmarks import load_dataset, OOS
d = load_dataset("clinc150")
z = np.load(sys.argv[1], allow_pickle=True); cls = z["classes"]
def sc(si, so, t):
    P, Q = z[si], z[so]; g = np.array([l for _, l in d[si]])
    ins = 100*((cls[P.argmax(1)] == g) & (P.max(1) >= t)).mean()
    oos = 100*((cls[Q.argmax(1)] == OOS) | (Q.max(1) < t)).mean()
    return ins, oos
for t in [0, .1, .15, .2, .25, .3, .35, .4, .45, .5]:
    print(t, "val %.2f/%.1f" % sc("val", "oos_val", t), "test %.2f/%.1f" % sc("test", "oos_test", t))
