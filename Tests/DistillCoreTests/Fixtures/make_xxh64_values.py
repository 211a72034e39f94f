# The XXH64 values of ChecksumTests.swift, from the reference implementation
# (pip install xxhash; python3 make_xxh64_values.py).
import xxhash

for s in [b"", b"a", b"abc", b"0123456789abcdef0123456789abcdef", bytes(range(256)) * 3 + b"xyz"]:
    print(len(s), hex(xxhash.xxh64(s, seed=0).intdigest()))
print("abc, seed 7:", hex(xxhash.xxh64(b"abc", seed=7).intdigest()))
