#!/usr/bin/env python3
"""Writes the hostile model files of tests/bad-inputs and their MANIFEST.tsv.

python3 tests/bad-inputs/make.py [OUT_DIR]   (Python 3 standard library only; the output is
committed; OUT_DIR defaults to this directory)

Each case is one small file (or model folder) plus what the CLI must do with it: the command (`inspect`, or
`convert` with optional extra options; the test adds the output path), the exit code and a
substring of the one error line (empty when the command must succeed). The file encoders are
the seed-corpus generator's (tests/fuzz/make_corpus.py).
"""
import json
import math
import pathlib
import struct
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.dont_write_bytecode = True  # keep tests/fuzz free of __pycache__
sys.path.insert(0, str(HERE.parent / "fuzz"))
import make_corpus as enc  # noqa: E402  (the GGUF/safetensors/APR byte encoders)

from make_corpus import ARR, F32, GGML_F32, GGML_Q8_0, STR, U32, f32s, gguf, gstr, safetensors  # noqa: E402
from make_corpus import APR_F32, APR_LZ4, APR_ROW_MAJOR, APR_ZSTD, apr, apr_fix_checksums  # noqa: E402

LFS_POINTER = (b"version https://git-lfs.github.com/spec/v1\n"
               b"oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
               b"size 1415337224\n")

# A valid GGUF the truncation cases cut: one kv, one f32 [4] tensor.
GOOD_GGUF = gguf([("general.architecture", STR, "llama")], [("w", [4], GGML_F32, f32s(1, 2, 3, 4))])


def gguf_raw(n_tensors, n_kv, body, version=3):
    return b"GGUF" + struct.pack("<IQQ", version, n_tensors, n_kv) + body


def tinfo(name, ne, gtype, offset, name_bytes=None):
    raw = name_bytes if name_bytes is not None else name.encode()
    return (struct.pack("<Q", len(raw)) + raw + struct.pack("<I", len(ne)) +
            b"".join(struct.pack("<Q", d & 0xFFFFFFFFFFFFFFFF) for d in ne) + struct.pack("<IQ", gtype, offset))


def pad32(b):
    return b + b"\0" * (-len(b) % 32)


def gguf_with_infos(infos, data):
    return pad32(gguf_raw(len(infos), 0, b"".join(infos))) + data


def nested_gguf_array(depth):
    # depth levels of array-of-array, the innermost an empty u8 array
    value = struct.pack("<IQ", 0, 0)
    for _ in range(depth - 1):
        value = struct.pack("<IQ", ARR, 1) + value
    return gguf_raw(0, 1, gstr("deep") + struct.pack("<I", ARR) + value)


def st_raw(header_text, data=b"", length=None):
    n = len(header_text) if length is None else length
    return struct.pack("<Q", n) + header_text + data


def st_header(entries):
    return json.dumps(entries, separators=(",", ":")).encode()


# The spec's worked example (apr.md §11): one F32 tensor w [2, 2]; data at 256, index at 192.
APR_W = ("w", APR_F32, [2, 2], f32s(1, 2, 3, 4))
GOOD_APR = apr([APR_W], metadata=(b'{"model_type":"example","license":null,"data_source":null,'
                                  b'"data_license":null,"total_size":0,"param_count":4}'))


def apr_patch(data, at, fmt, value, fix=True):
    """`data` with struct `fmt` packed at `at`, checksums recomputed unless fix is False."""
    b = bytearray(data)
    b[at:at + struct.calcsize(fmt)] = struct.pack(fmt, value)
    return apr_fix_checksums(bytes(b)) if fix else bytes(b)


def apr_two(a, b):
    return apr([(a, APR_F32, [1], f32s(1)), (b, APR_F32, [1], f32s(2))], sizes=None)


def apr_index_unsorted():
    # The encoder sorts; swap the two 29-byte entries afterwards.
    data = bytearray(apr_two("a", "b"))
    index = struct.unpack_from("<Q", data, 24)[0]
    first, second = data[index:index + 29], data[index + 29:index + 58]
    data[index:index + 58] = second + first
    return apr_fix_checksums(bytes(data))


def apr_v1(model_type=2):
    body = b"APRN" + struct.pack("<BBHIII", 1, 0, model_type, 2, 2, 2) + bytes(12) + b"\x80\x00" + b"ab"
    return body + struct.pack("<I", __import__("zlib").crc32(body))


# ---- model folders (mlx-quant.md): config.json + model.safetensors, written as directories ----
def folder(config, tensors, extra=None):
    """A model folder as {file name: bytes}: config.json (None: none), model.safetensors, `extra`."""
    out = {"model.safetensors": safetensors(tensors)}
    if config is not None:
        out["config.json"] = config if isinstance(config, bytes) else json.dumps(config).encode()
    out.update(extra or {})
    return out


def f16s(*values):
    return struct.pack("<%de" % len(values), *values)


def i32s(*values):
    return struct.pack("<%di" % len(values), *values)


MLX_Q4 = {"quantization": {"group_size": 64, "bits": 4}}
# A 4-bit, groups-of-64 module w [2, 64]: U32 codes [2, 8], f16 scales and biases [2, 1].
MLX_W = [("w.weight", "U32", [2, 8], bytes(range(64))), ("w.scales", "F16", [2, 1], f16s(0.5, -0.25)),
         ("w.biases", "F16", [2, 1], f16s(1, 2))]
GPTQ_4 = {"quantization_config": {"quant_method": "gptq", "bits": 4, "group_size": 32, "desc_act": True}}
# A GPTQ layer in 32, out 8: qweight [4, 8], qzeros [1, 1], scales [1, 8], g_idx [32].
GPTQ_L = [("l.qweight", "I32", [4, 8], bytes(128)), ("l.qzeros", "I32", [1, 1], bytes(4)),
          ("l.scales", "F16", [1, 8], f16s(*[1] * 8))]
DEEP_JSON = b"[" * 50000 + b"]" * 50000

# (file, command, exit code, error substring, bytes; a dict of file -> bytes is a folder)
CASES = [
    # ---- GGUF: truncation inside every section ----
    ("gguf-truncated-header.gguf", "inspect", 2, "truncated GGUF header", GOOD_GGUF[:12]),
    ("gguf-truncated-metadata-key.gguf", "inspect", 2, "string of 20 bytes runs past the end of the file", GOOD_GGUF[:40]),
    ("gguf-truncated-metadata-value.gguf", "inspect", 2,
     "metadata 'general.architecture': string of 5 bytes runs past the end of the file", GOOD_GGUF[:66]),
    ("gguf-truncated-tensor-info.gguf", "inspect", 2, "tensor 'w': truncated file: it ends inside the tensor info",
     GOOD_GGUF[:101]),
    ("gguf-truncated-data.gguf", "convert", 2,
     "tensor 'w': truncated tensor data: 16 bytes at data offset 0 run past the end of the file", GOOD_GGUF[:-24]),
    # ---- GGUF: counts, lengths and dimensions ----
    ("gguf-huge-tensor-count.gguf", "inspect", 2, "header claims 1152921504606846976 tensors",
     gguf_raw(1 << 60, 0, b"\0" * 64)),
    ("gguf-huge-kv-count.gguf", "inspect", 2, "header claims 1152921504606846976 metadata entries",
     gguf_raw(0, 1 << 60, b"\0" * 64)),
    ("gguf-oversized-string.gguf", "inspect", 2, "string of 1099511627776 bytes runs past the end of the file",
     gguf_raw(0, 1, struct.pack("<Q", 1 << 40) + b"key" + b"\0" * 64)),
    ("gguf-huge-dimension.gguf", "inspect", 2, "tensor 'w': truncated tensor data",
     gguf_with_infos([tinfo("w", [1 << 40], GGML_F32, 0)], b"\0" * 32)),
    ("gguf-negative-dimension.gguf", "inspect", 2, "tensor 'w': dimension 0 is negative",
     gguf_with_infos([tinfo("w", [-1], GGML_F32, 0)], b"\0" * 32)),
    ("gguf-element-overflow.gguf", "inspect", 2, "tensor 'w': element count overflows 64 bits",
     gguf_with_infos([tinfo("w", [1 << 32, 1 << 32], GGML_F32, 0)], b"\0" * 32)),
    ("gguf-byte-overflow.gguf", "inspect", 2, "tensor 'w': byte size overflows 64 bits",
     gguf_with_infos([tinfo("w", [1 << 62], GGML_F32, 0)], b"\0" * 32)),
    ("gguf-too-many-dims.gguf", "inspect", 2, "tensor 'w': n_dims is 5; GGUF allows 1 to 4",
     gguf_with_infos([tinfo("w", [1, 1, 1, 1, 1], GGML_F32, 0)], b"\0" * 32)),
    # ---- GGUF: offsets ----
    ("gguf-overlapping-offsets.gguf", "inspect", 2, "tensor 'b': data overlaps the data of tensor 'a'",
     gguf_with_infos([tinfo("a", [8], GGML_F32, 0), tinfo("b", [8], GGML_F32, 0)], b"\0" * 32)),
    ("gguf-offset-out-of-range.gguf", "inspect", 2, "tensor 'w': truncated tensor data: 16 bytes at data offset 4096",
     gguf_with_infos([tinfo("w", [4], GGML_F32, 4096)], b"\0" * 32)),
    ("gguf-offset-overflow.gguf", "inspect", 2, "tensor 'w': truncated tensor data: 16 bytes at data offset 18446744073709551584",
     gguf_with_infos([tinfo("w", [4], GGML_F32, (1 << 64) - 32)], b"\0" * 32)),
    ("gguf-misaligned-offset.gguf", "inspect", 2, "tensor 'w': data offset 4 is not a multiple of the alignment 32",
     gguf_with_infos([tinfo("w", [4], GGML_F32, 4)], b"\0" * 64)),
    # ---- GGUF: names and types ----
    ("gguf-duplicate-tensor.gguf", "inspect", 2, "tensor 'w': duplicate tensor name",
     gguf_with_infos([tinfo("w", [8], GGML_F32, 0), tinfo("w", [8], GGML_F32, 32)], b"\0" * 64)),
    ("gguf-duplicate-key.gguf", "inspect", 2, "duplicate metadata key 'a'",
     gguf_raw(0, 2, (gstr("a") + struct.pack("<IB", 0, 1)) * 2)),
    ("gguf-unknown-tensor-type.gguf", "inspect", 2, "tensor 'w': unknown ggml type id 99",
     gguf_with_infos([tinfo("w", [4], 99, 0)], b"\0" * 32)),
    ("gguf-unknown-value-type.gguf", "inspect", 2, "metadata 'k': invalid value type 13",
     gguf_raw(0, 1, gstr("k") + struct.pack("<I", 13) + b"\0" * 8)),
    ("gguf-non-utf8-tensor-name.gguf", "inspect", 2, "the name of tensor info #0 is not valid UTF-8 (byte 1)",
     gguf_with_infos([tinfo("", [4], GGML_F32, 0, name_bytes=b"w\xff\xfe")], b"\0" * 32)),
    ("gguf-non-utf8-key.gguf", "inspect", 2, "metadata entry #0: the key is not valid UTF-8",
     gguf_raw(0, 1, struct.pack("<Q", 3) + b"k\xc3(" + struct.pack("<IB", 0, 1))),
    ("gguf-non-utf8-value.gguf", "inspect --json", 0, "",
     gguf_raw(0, 1, gstr("general.name") + struct.pack("<I", STR) + struct.pack("<Q", 2) + b"\xff\xfe")),
    ("gguf-long-tensor-name.gguf", "inspect", 2, "bytes long; GGUF allows at most 63",
     gguf_with_infos([tinfo("n" * 64, [4], GGML_F32, 0)], b"\0" * 32)),
    ("gguf-deeply-nested-array.gguf", "inspect", 2, "metadata 'deep': arrays nested deeper than 64 levels",
     nested_gguf_array(100)),
    ("gguf-version-1.gguf", "inspect", 2, "GGUF v1 is not supported", b"GGUF" + struct.pack("<III", 1, 0, 0)),
    ("gguf-git-lfs-pointer.gguf", "inspect", 2, "git-lfs pointer, not a model: fetch the real file with `git lfs pull`",
     LFS_POINTER),
    # ---- GGUF: NaN and Inf weights ----
    ("gguf-nan-f32.gguf", "convert", 0, "",
     gguf([], [("w", [32, 1], GGML_F32, f32s(math.nan, math.inf, -math.inf, *range(29)))])),
    ("gguf-nan-f32.gguf", "convert --type f16", 0, "", None),
    ("gguf-nan-f32.gguf", "convert --type q8_0", 2,
     "tensor 'w': q8_0 encode failed: the values contain NaN or infinity, which this encoding cannot represent", None),
    ("gguf-nan-q8_0.gguf", "convert --type f32", 0, "",
     gguf([], [("w", [32, 1], GGML_Q8_0, enc.q8_0_block(scale_bits=0x7E00))])),
    # ---- safetensors: truncation and header length ----
    ("st-truncated-length.safetensors", "inspect", 2, "file is 4 bytes, too short for the 8-byte header length", b"\x10\0\0\0"),
    ("st-header-past-end.safetensors", "inspect", 2, "header length 1000 exceeds the file size 20",
     st_raw(b"{}", b"\0" * 10, length=1000)),
    ("st-header-huge-length.safetensors", "inspect", 2, "header length 18446744073709551615 exceeds the file size 10",
     st_raw(b"{}", length=(1 << 64) - 1)),
    ("st-truncated-header-json.safetensors", "inspect", 2, "header is not valid JSON",
     st_raw(b'{"w":{"dtype":"F32","sha')),
    ("st-truncated-data.safetensors", "convert", 2, "tensor 'w': data_offsets [0, 16] extend past the end",
     st_raw(st_header({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}), f32s(1, 2))),
    # ---- safetensors: dimensions and offsets ----
    ("st-negative-dimension.safetensors", "inspect", 2,
     "tensor 'w': field 'shape' is not an array of non-negative integers",
     st_raw(st_header({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 0]}}))),
    ("st-huge-dimension.safetensors", "inspect", 2, "tensor 'w': data_offsets [0, 4] hold 4 bytes, but F32",
     st_raw(st_header({"w": {"dtype": "F32", "shape": [1 << 40], "data_offsets": [0, 4]}}), f32s(0))),
    ("st-element-overflow.safetensors", "inspect", 2, "has more elements than fit in 64 bits",
     st_raw(st_header({"w": {"dtype": "F32", "shape": [1 << 40, 1 << 40], "data_offsets": [0, 4]}}), f32s(0))),
    ("st-dimension-too-large.safetensors", "inspect", 2, "tensor 'w': field 'shape' is not an array of",
     st_raw(b'{"w":{"dtype":"F32","shape":[99999999999999999999999],"data_offsets":[0,4]}}', f32s(0))),
    ("st-overlapping-offsets.safetensors", "inspect", 2, "tensor 'b': data_offsets [0, 8] overlap tensor 'a'",
     st_raw(st_header({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                       "b": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}), f32s(1, 2))),
    ("st-offset-out-of-range.safetensors", "inspect", 2, "extend past the end of the 8-byte data buffer",
     st_raw(st_header({"w": {"dtype": "F32", "shape": [2], "data_offsets": [4096, 4104]}}), f32s(1, 2))),
    ("st-offsets-reversed.safetensors", "inspect", 2, "tensor 'w': data_offsets [8, 0]",
     st_raw(st_header({"w": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}}), f32s(1, 2))),
    # ---- safetensors: names, types, strings, nesting ----
    ("st-duplicate-tensor.safetensors", "inspect", 2, "tensor 'w': the header names this tensor twice",
     st_raw(b'{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
            b'"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', f32s(1))),
    ("st-unknown-dtype.safetensors", "inspect", 2, "tensor 'w': unknown dtype 'Q9'",
     st_raw(st_header({"w": {"dtype": "Q9", "shape": [1], "data_offsets": [0, 4]}}), f32s(1))),
    ("st-non-utf8-header.safetensors", "inspect", 2, "header is not valid UTF-8 (at header byte 2)",
     st_raw(b'{"\xff":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', f32s(1))),
    ("st-oversized-string.safetensors", "inspect", 2, "header is not valid JSON",
     st_raw(b'{"__metadata__":{"k":"' + b"x" * 4096)),
    ("st-deeply-nested.safetensors", "inspect", 2, "__metadata__ value of key 'k' is not a string",
     st_raw(b'{"__metadata__":{"k":' + b"[" * 50000 + b"]" * 50000 + b"}}")),
    ("st-git-lfs-pointer.safetensors", "inspect", 2, "git-lfs pointer, not a model", LFS_POINTER),
    # ---- safetensors: NaN and Inf weights ----
    ("st-nan-f32.safetensors", "convert", 0, "",
     safetensors([("w", "F32", [1, 32], f32s(math.nan, math.inf, -math.inf, *range(29)))])),
    ("st-nan-f32.safetensors", "convert --type q8_0", 2, "tensor 'w': q8_0 encode failed: the values contain NaN", None),
    # ---- APR (apr.md §10): every rule of the reader checklist ----
    ("apr-truncated.apr", "inspect", 2, "truncated APR file: 40 bytes", GOOD_APR[:40]),
    ("apr-bad-header-crc.apr", "inspect", 2, "header checksum mismatch: stored 0x9BB8993B, computed 0x",
     apr_patch(GOOD_APR, 44, "<B", 1, fix=False)),
    ("apr-bad-footer-crc.apr", "convert", 2, "footer checksum mismatch: stored 0x7F057047, computed 0x",
     GOOD_APR[:256] + b"\x01" + GOOD_APR[257:]),
    ("apr-unsorted-names.apr", "inspect", 2, "tensor 'a': the tensor index is not sorted by name: 'a' follows 'b'",
     apr_index_unsorted()),
    ("apr-duplicate-names.apr", "inspect", 2, "tensor 'a': duplicate tensor name in the tensor index",
     apr_two("a", "a")),
    ("apr-offset-past-end.apr", "convert", 2,
     "tensor 'w': extends past end of file: 16 bytes at data offset 4096 (data ends at byte 320)",
     apr_patch(GOOD_APR, 0xC0 + 21, "<Q", 4096)),
    ("apr-offset-overflow.apr", "inspect", 2, "tensor 'w': extends past end of file: 16 bytes at data offset 18446744073709551552",
     apr_patch(GOOD_APR, 0xC0 + 21, "<Q", 2**64 - 64)),
    ("apr-misaligned.apr", "inspect", 2, "tensor 'w': data at file offset 260 is not aligned to 64 bytes",
     apr_patch(GOOD_APR, 0xC0 + 21, "<Q", 4)),
    ("apr-huge-metadata-size.apr", "inspect", 2, "metadata_size 4294967295 exceeds the limit of 16777216 bytes",
     apr_patch(GOOD_APR, 20, "<I", 0xFFFFFFFF)),
    ("apr-metadata-past-end.apr", "inspect", 2, "metadata extends past end of file: 1000 bytes at offset 64",
     apr_patch(GOOD_APR, 20, "<I", 1000)),
    ("apr-huge-tensor-count.apr", "inspect", 2, "tensor_count 4294967295 cannot fit in the 64-byte tensor index",
     apr_patch(GOOD_APR, 8, "<I", 0xFFFFFFFF)),
    ("apr-ndim-9.apr", "inspect", 2, "tensor 'w': ndim 9 exceeds APR's limit of 8",
     apr([("w", APR_F32, [1] * 7 + [2, 2], f32s(1, 2, 3, 4))])),
    ("apr-unknown-dtype.apr", "inspect", 2, "tensor 'w': invalid dtype id 2",
     apr([("w", 2, [2, 2], f32s(1, 2, 3, 4))])),
    ("apr-size-mismatch.apr", "inspect", 2, "tensor 'w': stores 12 bytes, but f32 [2, 2] needs 16",
     apr([APR_W], sizes={"w": 12})),
    ("apr-column-major.apr", "inspect", 2, "the LAYOUT_COLUMN_MAJOR flag is set",
     apr([APR_W], flags=APR_ROW_MAJOR | 0x0800)),
    ("apr-lz4-compressed-sizes.apr", "inspect", 2,
     "tensor 'w': the LZ4_COMPRESSED flag is set and the tensor stores 10 bytes where f32 [2, 2] needs 16",
     apr([APR_W], flags=APR_ROW_MAJOR | APR_LZ4, sizes={"w": 10})),
    ("apr-lz4-raw-data.apr", "inspect", 0, "", apr([APR_W], flags=APR_ROW_MAJOR | APR_LZ4)),
    # A raw zstd block (RFC 8878) whose block type is the reserved 3.
    ("apr-corrupt-zstd-frame.apr", "convert", 2, "tensor 'w': corrupt zstd frame: ",
     apr([("w", APR_F32, [2, 2], struct.pack("<IBB", 0xFD2FB528, 0x20, 16) + bytes([0x87, 0, 0]) + bytes(16))],
         flags=APR_ROW_MAJOR | APR_ZSTD)),
    ("apr-zstd-wrong-size.apr", "convert", 2, "tensor 'w': the zstd frame holds 8 bytes, dtype and shape need 16",
     apr([("w", APR_F32, [2, 2], enc.zstd_raw_frame(f32s(1, 2)))], flags=APR_ROW_MAJOR | APR_ZSTD)),
    ("apr-invalid-metadata.apr", "inspect", 2, "the metadata is not valid JSON",
     apr([APR_W], metadata=b'{"model_type":')),
    ("apr-deep-metadata.apr", "inspect", 2, "the metadata JSON nests deeper than 64 levels",
     apr([APR_W], metadata=b'{"k":' + b"[" * 5000 + b"]" * 5000 + b"}")),
    ("apr-field-type.apr", "inspect", 2, "metadata field 'hidden_size' must be a non-negative integer, found -4",
     apr([APR_W], metadata=b'{"hidden_size":-4}')),
    ("apr-version-3.apr", "inspect", 2, "APR version 3.0 is not supported; quantflow reads APR v2",
     apr_patch(GOOD_APR, 4, "<B", 3)),
    ("apr-legacy-magic.apr", "inspect", 0, "", apr([APR_W], magic=b"APR2")),
    ("apr-v1.apr", "inspect", 2, "APR v1 (APRN) holds a serialized aprender model, not a tensor container; re-export "
     "it as APR v2 with aprender (version 1.0, model type LogisticRegression (0x0002)", apr_v1()),
    ("apr-tsp.apr", "convert", 2,
     "APR file of version 1 with model type TSP: an aprender-tsp solver file, not a tensor container",
     b"APR\0" + struct.pack("<I", 1) + b"\0PST" + bytes(16)),
    ("apr-git-lfs-pointer.apr", "inspect", 2, "git-lfs pointer, not a model", LFS_POINTER),
    # ---- model folders: MLX modules against config.json, AWQ / GPTQ layers, the files ----
    ("mlx-valid", "convert --type f32", 0, "", folder(MLX_Q4, MLX_W)),
    ("mlx-valid", "convert --type q8_0", 0, "", None),
    ("mlx-nan-scales", "convert --type f32", 0, "",
     folder(MLX_Q4, [MLX_W[0], ("w.scales", "F16", [2, 1], f16s(math.nan, math.inf)), MLX_W[2]])),
    ("mlx-nan-scales", "convert --type q8_0", 2,
     "tensor 'w.weight': q8_0 encode failed: the values contain NaN or infinity", None),
    ("mlx-scales-without-weight", "inspect", 2, "tensor 'w.scales': scales without their weight: 'w.weight' is missing",
     folder(MLX_Q4, MLX_W[1:])),
    ("mlx-weight-not-u32", "inspect", 2, "tensor 'w.weight': a quantized MLX weight is U32 codes, not f16 [2, 16]",
     folder(MLX_Q4, [("w.weight", "F16", [2, 16], bytes(64))] + MLX_W[1:])),
    ("mlx-group-size-disagrees", "convert", 2, "tensor 'w.scales': config.json quantizes 'w' as affine 4-bit, groups "
     "of 32: 'w.weight' [2, 8] needs scales [2, 2], but they are f16 [2, 1]",
     folder({"quantization": {"group_size": 32, "bits": 4}}, MLX_W)),
    ("mlx-huge-bits", "inspect", 2, "tensor 'w.weight': no loaded codec holds MLX affine 1024-bit groups of 1",
     folder({"quantization": {"group_size": 1, "bits": 1024}},
            [("w.weight", "U32", [1, 32], bytes(128)), ("w.scales", "F16", [1, 1], f16s(1)),
             ("w.biases", "F16", [1, 1], f16s(0))])),
    ("mlx-deep-config", "inspect", 2, "config.json: the JSON nests deeper than 64 levels",
     folder(b'{"quantization":{"bits":' + DEEP_JSON + b'}}', MLX_W)),
    ("mlx-no-config", "inspect", 2, "a model folder needs a config.json; there is none", folder(None, MLX_W)),
    ("mlx-index-outside-folder", "inspect", 2,
     "tensor 'w': weight_map names '../st-nan-f32.safetensors', which is not a file beside the index",
     {"config.json": b"{}", "model.safetensors.index.json":
      json.dumps({"metadata": {"total_size": 128}, "weight_map": {"w": "../st-nan-f32.safetensors"}}).encode()}),
    ("awq-gemv", "inspect", 2, "config.json: quantization config: AWQ version 'gemv' is not supported",
     folder({"quantization_config": {"quant_method": "awq", "bits": 4, "group_size": 32, "version": "gemv"}},
            [("l.qweight", "I32", [32, 1], bytes(128)), ("l.qzeros", "I32", [1, 1], bytes(4)),
             ("l.scales", "F16", [1, 8], f16s(*[1] * 8))])),
    ("gptq-3bit", "inspect", 2, "config.json: quantization config: GPTQ bits 3 is not supported",
     folder({"quantization_config": {"quant_method": "gptq", "bits": 3, "group_size": 32}}, GPTQ_L)),
    ("gptq-g-idx-out-of-range", "convert", 2,
     "tensor 'l.qweight': GPTQ g_idx: value 5 at input 31 is not a group: scales has 1 groups",
     folder(GPTQ_4, GPTQ_L + [("l.g_idx", "I32", [32], i32s(*[0] * 31, 5))])),
    ("gptq-deep-quantize-config", "inspect", 2, "quantize_config.json: the JSON nests deeper than 64 levels",
     folder({}, GPTQ_L, {"quantize_config.json": b'{"bits":4,"x":' + DEEP_JSON + b'}'})),
]


def main():
    out = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else HERE
    lines = ["# file\tcommand\texit\terror substring (empty: the command succeeds)"]
    for name, command, code, text, data in CASES:
        if isinstance(data, dict):
            (out / name).mkdir(exist_ok=True)
            for file, content in data.items():
                (out / name / file).write_bytes(content)
        elif data is not None:
            (out / name).write_bytes(data)
        lines.append("\t".join([name, command, str(code), text]))
    (out / "MANIFEST.tsv").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
