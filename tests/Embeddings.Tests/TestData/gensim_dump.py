"""Loads a word2vec file with gensim and prints each key and the bits of its float32 values, for Word2VecFormatTests:
    /usr/bin/python3 gensim_dump.py FILE binary|text"""
import sys
from gensim.models import KeyedVectors

kv = KeyedVectors.load_word2vec_format(sys.argv[1], binary=(sys.argv[2] == "binary"))
sys.stdout.reconfigure(encoding="utf-8")
print(len(kv.index_to_key), kv.vector_size)
for key in kv.index_to_key:
    print(key, " ".join(format(int(v), "08X") for v in kv[key].view("uint32")))
