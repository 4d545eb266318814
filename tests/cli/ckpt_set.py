#!/usr/bin/env python3
"""ckpt_set.py IN OUT KEY VALUE: copies the checkpoint IN to OUT with the
TRNS state line KEY=... replaced by KEY=VALUE, the section length fixed and
the CRC-32 trailer recomputed (docs/model-format.md), so only the range
checks can refuse it."""
import struct
import sys
import zlib

src, dst, key, value = sys.argv[1:5]
data = open(src, "rb").read()
body = data[:-4]
assert body[:8] == b"MLPCNET\0"
(n,) = struct.unpack_from("<I", body, 16)
pos, out = 20, [body[:20]]
for _ in range(n):
    tag = body[pos:pos + 4]
    (length,) = struct.unpack_from("<Q", body, pos + 4)
    payload = body[pos + 12:pos + 12 + length]
    pos += 12 + length
    if tag == b"TRNS":
        lines = payload.decode().split("\n")
        lines = [key + "=" + value if l.startswith(key + "=") else l for l in lines]
        payload = "\n".join(lines).encode()
    out.append(tag + struct.pack("<Q", len(payload)) + payload)
body = b"".join(out)
open(dst, "wb").write(body + struct.pack("<I", zlib.crc32(body) & 0xFFFFFFFF))
