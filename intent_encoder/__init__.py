"""The fine-tuned intent encoder: fine-tuning with torch in `.venv` (finetune.py) and the exported ONNX model the
Rasa component runs (exported.py)."""
