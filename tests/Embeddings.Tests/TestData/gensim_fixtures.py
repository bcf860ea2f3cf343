"""Writes the gensim fixtures of Word2VecFormatTests (run with Debian's python3-gensim 4.2):
    /usr/bin/python3 gensim_fixtures.py OUTPUT_DIR
Row i of key KEYS[i] has value[j] = float32(((i * 31 + j * 17) % 97) / 97 * 2 - 1 + i / 1000); the test recomputes it."""
import sys
import numpy as np
from gensim.models import KeyedVectors

KEYS = ["the", "of", "café", "東京", "x_1", "Zürich", "a"]
DIM = 5

kv = KeyedVectors(vector_size=DIM)
vectors = np.array([[((i * 31 + j * 17) % 97) / 97 * 2 - 1 + i / 1000 for j in range(DIM)] for i in range(len(KEYS))], dtype=np.float32)
kv.add_vectors(KEYS, vectors)
out = sys.argv[1]
kv.save_word2vec_format(f"{out}/gensim.txt", binary=False)
kv.save_word2vec_format(f"{out}/gensim.bin", binary=True)
