#!/usr/bin/env python3
"""Edits an uncompressed image (vxdump --compress none) while keeping its
framing valid, so that only a signature can tell: every record crc and the
trailer are recomputed.  Framing: docs/image-format.md.

Usage: img-edit.py MODE IN OUT
  flip-page  flip one byte in the page data of the smallest PAGES record
  swap       swap the first two records (both before the pages)
  drop-pages remove the last of the largest PAGES records with page bytes
"""
import struct
import sys

TRAILER, PAGES = 1, 9


def crc32c_table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


TABLE = crc32c_table()


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc = TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def read_varint(buf, i):
    v = shift = 0
    while True:
        b = buf[i]
        i += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return v, i


def parse(data):
    """Returns (preamble bytes, [[type, flags, payload, crc or None], ...])."""
    if data[:8] != b"VXCRIMG\n":
        sys.exit("not a vxcr image")
    hlen = struct.unpack_from("<I", data, 12)[0]
    pos = 16 + hlen + 4
    pre, recs = data[:pos], []
    while pos < len(data):
        typ, flags, length = struct.unpack_from("<IIQ", data, pos)
        payload = data[pos + 16:pos + 16 + length]
        crc = struct.unpack_from("<I", data, pos + 16 + length)[0]
        recs.append([typ, flags, payload, crc])
        pos += 16 + length + 4
    return pre, recs


def trailer_fields(payload):
    """The img_trailer fields as {number: value} (all varints)."""
    f, i = {}, 0
    while i < len(payload):
        key, i = read_varint(payload, i)
        f[key >> 3], i = read_varint(payload, i)
    return f


def serialise(pre, recs):
    body, sums = bytearray(), bytearray()
    for typ, flags, payload, crc in recs:
        if typ == TRAILER:
            f = trailer_fields(payload)
            f[1], f[2] = len(recs) - 1, crc32c(sums)
            if 3 in f:      # page_bytes: PAGES payloads less their prefix
                f[3] = sum(len(r[2]) - 16 for r in recs if r[0] == PAGES)
            payload = b"".join(varint(k << 3) + varint(v) for k, v in sorted(f.items()))
            crc = None
        hdr = struct.pack("<IIQ", typ, flags, len(payload))
        if crc is None:     # changed: a crc the reader accepts
            crc = crc32c(payload, crc32c(hdr))
        sums += struct.pack("<I", crc)
        body += hdr + payload + struct.pack("<I", crc)
    return pre + bytes(body)


def main():
    mode, src, dst = sys.argv[1:4]
    with open(src, "rb") as f:
        pre, recs = parse(f.read())
    if mode == "flip-page":
        pages = [r for r in recs if r[0] == PAGES]
        r = min(pages, key=lambda r: len(r[2]))
        p = bytearray(r[2])
        p[16] ^= 0x01           # first byte after the 16-byte prefix
        r[2], r[3] = bytes(p), None
    elif mode == "drop-pages":
        data = [r for r in recs if r[0] == PAGES and struct.unpack_from("<I", r[2], 12)[0] == 0]
        big = max(len(r[2]) for r in data)
        recs.remove([r for r in data if len(r[2]) == big][-1])
    elif mode == "swap":
        recs[0], recs[1] = recs[1], recs[0]
    else:
        sys.exit("unknown mode " + mode)
    with open(dst, "wb") as f:
        f.write(serialise(pre, recs))


if __name__ == "__main__":
    main()
