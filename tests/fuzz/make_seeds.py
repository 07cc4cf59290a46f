#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the small seed corpora of the fuzz targets (tests/fuzz/corpus/<t>/).

Deterministic: running it again gives the same files. The zstd seeds need
the `zstd` command. New entries found by scripts/fuzz-long are added next
to these seeds.
"""
import os
import random
import struct
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def field(tag, wire, payload):
    key = varint(tag << 3 | wire)
    if wire == 0:
        return key + varint(payload)
    if wire == 1:
        return key + struct.pack("<d", payload)
    return key + varint(len(payload)) + payload


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def codec():
    write("codec", "empty-record", b"\x01\x07")
    write("codec", "fields", b"\x01\x07" + field(1, 0, 150) + field(2, 1, 0.1) +
          field(3, 2, b"churn-model") + field(4, 0, (1 << 64) - 1))
    write("codec", "nested", b"\x02\x03" + field(1, 2, b"\x01\x02" + field(1, 0, 1)) +
          field(7, 1, float("nan")) + field(2, 2, b""))
    write("codec", "newer-version", b"\xff\x01" + field(1, 0, 1))
    write("codec", "huge-length", b"\x01\x01\x0a\xff\xff\xff\xff\x0f")
    write("codec", "truncated-fixed64", b"\x01\x01\x09\x01\x02")
    write("codec", "bad-wire", b"\x01\x01\x0b\x00")
    write("codec", "long-varint", b"\x01\x01\x08" + b"\xff" * 9 + b"\x01")
    write("codec", "overflow-varint", b"\x01\x01\x08" + b"\xff" * 10 + b"\x01")
    write("codec", "tag-zero", b"\x01\x01\x00\x00")
    write("codec", "noncanonical", b"\x01\x01\x88\x00\x80\x00")


def zcompress(data, *args):
    # from a file, so the frame records its content size and a small window
    # (a stream from stdin gets an 8 MiB window, which makes every exec slow)
    import tempfile
    with tempfile.NamedTemporaryFile() as f:
        f.write(data)
        f.flush()
        return subprocess.run(["zstd", "-q", "-c", *args, f.name], check=True,
                              stdout=subprocess.PIPE).stdout


def zstd():
    samples = {
        "text": b"step,value\n" + b"".join(b"%d,%.6f\n" % (i, i * 0.5) for i in range(200)),
        "zeros": b"\x00" * 5000,
        "empty": b"",
        "random": random.Random(7).randbytes(600),
    }
    for name, data in samples.items():
        c = zcompress(data, "-19")
        write("zstd", name + ".zst", c)
        write("zstd", name + ".truncated.zst", c[: max(1, len(c) // 2)])
    two = zcompress(b"abc" * 50) * 2
    write("zstd", "two-frames.zst", two)
    # a bomb: 4 MiB of zeros compresses to a few hundred bytes
    bomb = zcompress(b"\x00" * (4 << 20), "-19")
    write("zstd", "bomb.zst", bomb)
    # a frame header declaring a huge window (window descriptor 0xF8)
    write("zstd", "huge-window.zst", b"\x28\xb5\x2f\xfd\x00\xf8" + b"\x01\x00\x00")
    write("zstd", "garbage", b"not zstd at all")


def utf8():
    vectors = {
        "ascii": b"churn-model",
        "nfc": b"caf\xc3\xa9",
        "nfd": b"cafe\xcc\x81",
        "ff": b"\xff",
        "overlong-slash": b"\xc0\xaf",
        "overlong3": b"\xe0\x80\xaf",
        "surrogate": b"\xed\xa0\x80",
        "above-max": b"\xf4\x90\x80\x80",
        "max": b"\xf4\x8f\xbf\xbf",
        "truncated": b"ab\xe2\x82",
        "emoji": "model-\U0001F680".encode(),
        "nul": b"a\x00b",
    }
    for name, data in vectors.items():
        write("utf8", name, data)


def store_uri():
    uris = [b"mem:", b"mem://", b"file:store", b"file://store2", b"plain-dir", b"",
            b"ftp://x", b"s3://bucket/key", b"file:a/b/c", b"x\x01y", b"CON", b"nul.txt",
            b"%2e%2e%2f", b"a" * 300, b"file:", b"mem:extra"]
    for i, u in enumerate(uris):
        write("store_uri", "uri-%02d" % i, b"\x00" + u)
    # with options: version, sync, flags
    write("store_uri", "opts-readonly", b"\x01\x01\x01\x01" + b"mem:")
    write("store_uri", "opts-badversion", b"\x01\x03\x01\x00" + b"mem:")
    write("store_uri", "opts-badsync", b"\x01\x01\x04\x00" + b"mem:")
    write("store_uri", "opts-reserved", b"\x03\x01\x01\x00\x05" + b"mem:")
    write("store_uri", "opts-nocreate", b"\x01\x01\x01\x02" + b"file:missing")


def api_seq():
    rng = random.Random(42)
    for n in range(12):
        prog = bytearray()
        for _ in range(rng.randrange(5, 60)):
            op = rng.randrange(12)
            prog.append(op)
            prog += bytes(rng.randrange(256) for _ in range(rng.randrange(2, 12)))
        write("api_seq", "random-%02d" % n, bytes(prog))
    # hand-written: put, get, batch with a failed precondition, scan, blob
    write("api_seq", "put-get", bytes([0, 0, 1, 3]) + b"abc" + bytes([2, 0, 1]))
    write("api_seq", "cas", bytes([0, 1, 5, 2]) + b"xy" + bytes([3, 1, 0x03, 1, 5]) +
          bytes([11]))
    write("api_seq", "blob", bytes([7, 10, 0]) + b"0123456789" + bytes([8, 0, 8, 5]))
    write("api_seq", "reopen", bytes([0, 2, 9, 1]) + b"z" + bytes([9, 0, 11]))


def run_filter():
    filters = [
        "metrics.acc > 0.5",
        "params.lr = '0.1' and tags.team != 'core'",
        "attributes.status = 'FINISHED'",
        "(metrics.acc < 1 or metrics.loss >= 2) and params.lr like '0.%'",
        "tags.`team` ILIKE '%GROW%'\nmetrics.acc DESC\nattributes.start_time",
        "run_name IN ('baseline', 'tuned')",
        "metrics.loss = NaN",
        "params.lr = \"0.1\" AND (",
        "metrics.acc > 1e400",
        "attributes.run_id = '0123456789abcdef0123456789abcdef'",
        "\nparams.lr ASC\nmetrics.loss DESC",
        "datasets.digest = 'abc'",
        "((((((((((metrics.acc > 0))))))))))",
        "tags.x = 'it''s'",
    ]
    for i, f in enumerate(filters):
        write("run_filter", "filter-%02d" % i, f.encode())


def drift_profile():
    # real encodings, made by the library through the Python binding
    sys.path.insert(0, os.path.join(HERE, "..", "..", "bindings", "python"))
    try:
        from mlops import drift
    except Exception as e:  # no built library: keep the committed seeds
        print("drift seeds skipped:", e)
        return
    rng = random.Random(3)
    write("drift_profile", "numeric",
          drift.Profile.from_values("x", [rng.gauss(0, 1) for _ in range(500)]).to_bytes())
    write("drift_profile", "numeric-nan-inf",
          drift.Profile.from_values("y", [1.0, float("nan"), float("inf"), -0.0, 5e-324]).to_bytes())
    write("drift_profile", "constant", drift.Profile.from_values("c", [2.0] * 50).to_bytes())
    write("drift_profile", "empty", drift.Profile.from_values("e", []).to_bytes())
    write("drift_profile", "kept-values",
          drift.Profile.from_values("k", [float(i) for i in range(64)], keep_values=100,
                                    sketch_k=8).to_bytes())
    cat = drift.Profile("cat", kind="categorical")
    cat.add(["a", "b", "a", "", "\u00e9"])
    write("drift_profile", "categorical", cat.to_bytes())


def csv():
    # the first byte: schema (low 2 bits) and rows per read (next 2 bits)
    files = {
        "plain": b"user_id,event_timestamp,clicks\n1,2024-01-01T00:00:00Z,3\n2,1704067300,\n",
        "typed": b"id,ts,score\n7,1704067200,0.5\n-3,2024-02-29T12:30:00.123456+01:00,1e-3\n"
                 b"9223372036854775807,0,-inf\n",
        "vectors": b"active,emb,n\ntrue,\"[1,2,3]\",4\nfalse,\"0.5;1;-2\",\nTRUE,,5\n",
        "quoted": b'ts,name,v\n1,"a ""quoted"" name",\"[1, 2]\"\n2,"multi\nline",[3 4]\n'
                  b'3,"",\n',
        "crlf": b"a,b,c\r\n1,2,3\r\n\r\n4,5,6\r\n",
        "no-final-newline": b"a,b\n1,2",
        "blank-lines": b"a\n\n1\n\n\n2\n",
        "utf8": "name,city\nJos\u00e9,Malm\u00f6\n\u00c5sa,\U0001F680\n".encode(),
        "bad-utf8": b"a,b\n\xff,1\n",
        "unclosed-quote": b'a,b\n1,"open\n',
        "text-after-quote": b'a,b\n"x"y,1\n',
        "quote-inside": b'a,b\n1,x"y\n',
        "fewer-fields": b"a,b,c\n1,2\n",
        "more-fields": b"a,b\n1,2,3\n",
        "dup-header": b"a,a\n1,2\n",
        "empty-header": b"a,,c\n1,2,3\n",
        "empty": b"",
        "bad-number": b"id,ts,x\n12abc,yesterday,1.2.3\n",
        "bool-words": b"flag,emb,i\nyes,\"[1,2,3]\",1\nno,\"[1,2]\",2\n1,,3\n",
    }
    for i, (name, data) in enumerate(sorted(files.items())):
        write("csv", name, bytes([i % 16]) + data)


def names():
    # the first byte picks the call (see fuzz_names.c), the rest is the name
    calls = ["experiment", "param", "tag", "metric", "model", "alias", "model-tag", "view",
             "feature", "column", "baseline", "rollout", "ab"]
    samples = [b"churn-model", b"lr", b"a.b_c-d/e", b"", b" lead", b"x" * 300, b"caf\xc3\xa9",
               b"r/m/x", b"a\x01b", b"\xff", b"..", b"models:/x", b"a@b", b"a:b", b"v@v2",
               b"\xf0\x9f\x9a\x80"]
    for i, call in enumerate(calls):
        for j, name in enumerate(samples):
            if (i + j) % 3 == 0 or j < 2:
                write("names", "%s-%02d" % (call, j), bytes([i]) + name)


def records():
    # file_log, feature_segment and registry_records: real encodings written
    # by the library (tests/fuzz/gen_seeds.c, built as fuzz_gen_seeds)
    root = os.path.join(HERE, "..", "..")
    for build in sorted(os.listdir(root)):
        exe = os.path.join(root, build, "tests", "hardening", "fuzz_gen_seeds")
        if os.path.exists(exe):
            subprocess.run([exe, os.path.join(HERE, "corpus")], check=True)
            return
    print("record seeds skipped: build fuzz_gen_seeds first")


if __name__ == "__main__":
    for fn in (codec, zstd, utf8, store_uri, api_seq, run_filter, drift_profile, csv, names,
               records):
        fn()
    sys.exit(0)
