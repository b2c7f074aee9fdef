"""Knowledge-base retrieval for Destek: ingest articles, build a hybrid FAISS index, search it.

Importing this package does no work; heavy libraries load only inside the functions that need them.
"""
