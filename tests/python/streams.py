"""An independent Python implementation of neuromic's per-task random streams
(src/rng/rng.c; the key layout is documented in docs/ARCHITECTURE.md), used to
check that the numbers in a result file come from the documented streams."""
import hashlib
import struct

MASK = (1 << 64) - 1


def stream_key(base_seed, stream, params):
    """params: ordered list of (name, type_char, value) in point-layout order."""
    h = hashlib.sha256()
    h.update(b"neuromic-stream-v1\0")
    h.update(struct.pack("<Q", base_seed))
    h.update(stream.encode() + b"\0")
    for name, kind, value in params:
        h.update(name.encode() + b"\0" + kind.encode())
        if kind == "i":
            h.update(struct.pack("<q", value))
        elif kind == "f":
            h.update(struct.pack("<d", 0.0 if value == 0 else value))
        elif kind == "b":
            h.update(bytes([1 if value else 0]))
        else:
            h.update(value.encode() + b"\0")
    return h.digest()


class Xoshiro256ss:
    def __init__(self, key):
        self.s = list(struct.unpack("<4Q", key))

    @staticmethod
    def _rotl(x, k):
        return ((x << k) | (x >> (64 - k))) & MASK

    def next64(self):
        s = self.s
        result = (self._rotl((s[1] * 5) & MASK, 7) * 9) & MASK
        t = (s[1] << 17) & MASK
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = self._rotl(s[3], 45)
        return result

    def uniform(self):
        return (self.next64() >> 11) * 2.0**-53
