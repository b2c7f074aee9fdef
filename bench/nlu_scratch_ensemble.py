"""Scratch (docs/nlu.md, second round): BANKING77 accuracy of the fine-tuned MiniLM averaged with the LR probabilities.

Needs var/scratch/ft-banking77.npy (nlu_scratch_finetune.py) and scores-banking77-C30*.npy (nlu_scratch_variants.py).
"""
from pathlib import Path
HERE = Path(__file__).resolve().parent
CACHE = HERE.parent / "var" / "scratch"
import numpy as np, sys
sys.path.insert(0, str(HERE))
from nlu_benchmarks import load_dataset
d = load_dataset("banking77"); gold = np.array([l for _, l in d["test"]]); cls = np.array(sorted(set(l for _, l in d["train"])))
F = np.load(str(CACHE / "ft-banking77.npy"))
for name in ["C30", "C30_denseuse_e5"]:
    A = np.load(str(CACHE / f"scores-banking77-{name}.npy"))
    print(name, " ".join(f"w={w}:{100*(cls[((1-w)*A + w*F).argmax(1)] == gold).mean():.2f}" for w in [0, .3, .5, .7, 1]))
