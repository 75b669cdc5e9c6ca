"""Topic discovery: what to write about, before any prompt is built.

v1 clusters web samples and names each cluster with the LLM; v2 grows a taxonomy of subtopics and
retrieves seed pages for each from a full-text index; enrichment adds related concepts, difficulty
and prerequisites to a topic. The heavy parts (embeddings, UMAP, scikit-learn, textstat, YAKE) are in
the `topics` extra and imported where used.
"""
