#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz target: tiny valid files, one feature each.

Run from anywhere: python3 tests/fuzz/make_corpus.py. Recipes and presets are copied from
configs/. The unit test test_fuzz_regressions checks that every seed is accepted.
"""
import json
import pathlib
import shutil
import struct
import zlib

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent
CORPUS = HERE / "corpus"

# ---- GGUF (gguf.md) ----
U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = range(13)
GGML_F32, GGML_F16, GGML_Q8_0 = 0, 1, 8


def gstr(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def gvalue(vtype, v):
    fmt = {U8: "B", I8: "b", U16: "H", I16: "h", U32: "I", I32: "i", F32: "f", BOOL: "?", U64: "Q", I64: "q",
           F64: "d"}
    if vtype == STR:
        return gstr(v)
    if vtype == ARR:
        etype, items = v
        return struct.pack("<IQ", etype, len(items)) + b"".join(gvalue(etype, x) for x in items)
    return struct.pack("<" + fmt[vtype], v)


def gguf(kvs, tensors, version=3, alignment=32):
    """kvs: [(key, type, value)]; tensors: [(name, ne (innermost first), ggml type, data bytes)]."""
    out = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kvs))
    for key, vtype, value in kvs:
        out += gstr(key) + struct.pack("<I", vtype) + gvalue(vtype, value)
    offset = 0
    for name, ne, gtype, data in tensors:
        out += gstr(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", d) for d in ne)
        out += struct.pack("<IQ", gtype, offset)
        offset += (len(data) + alignment - 1) // alignment * alignment
    out += b"\0" * (-len(out) % alignment)
    for _, _, _, data in tensors:
        out += data + b"\0" * (-len(data) % alignment)
    return out


def f32s(*values):
    return struct.pack("<%df" % len(values), *values)


def q8_0_block(scale_bits=0x3C00, start=0):
    return struct.pack("<H", scale_bits) + bytes((start + i) & 0xFF for i in range(32))


def gguf_seeds():
    every_type = [
        ("general.architecture", STR, "llama"), ("t.u8", U8, 7), ("t.i8", I8, -7), ("t.u16", U16, 700),
        ("t.i16", I16, -700), ("t.u32", U32, 70000), ("t.i32", I32, -70000), ("t.f32", F32, 0.5),
        ("t.bool", BOOL, True), ("t.u64", U64, 1 << 40), ("t.i64", I64, -(1 << 40)), ("t.f64", F64, 0.25),
        ("t.strings", ARR, (STR, ["a", "bc"])), ("t.nested", ARR, (ARR, [(U8, [1, 2]), (I32, [-1])])),
    ]
    return {
        "empty.gguf": gguf([], []),
        "every_value_type.gguf": gguf(every_type, []),
        "f32_tensor.gguf": gguf([("general.architecture", STR, "llama")], [("w", [2, 2], GGML_F32, f32s(1, 2, 3, 4))]),
        "v2_two_tensors.gguf": gguf([("general.alignment", U32, 64)],
                                    [("a", [4], GGML_F16, bytes(8)), ("b", [32], GGML_Q8_0, q8_0_block())],
                                    version=2, alignment=64),
        "split_single_shard.gguf": gguf([("split.no", U16, 0), ("split.count", U16, 1), ("split.tensors.count", I32, 1)],
                                        [("x", [1], GGML_F32, f32s(1))]),
    }


def imatrix_gguf_seeds():
    kvs = [("general.type", STR, "imatrix"), ("imatrix.chunk_count", U32, 3),
           ("imatrix.datasets", ARR, (STR, ["wiki.train.raw"]))]
    tensors = [("blk.0.attn_q.weight.in_sum2", [4, 1], GGML_F32, f32s(1, 2, 3, 4)),
               ("blk.0.attn_q.weight.counts", [1, 1], GGML_F32, f32s(2)),
               ("blk.0.ffn_up.weight.in_sum2", [2, 2], GGML_F32, f32s(1, 1, 2, 2)),
               ("blk.0.ffn_up.weight.counts", [1, 2], GGML_F32, f32s(1, 0))]
    return {"imatrix.gguf": gguf(kvs, tensors)}


# ---- legacy imatrix .dat ----
def imatrix_dat(entries, chunks=None, dataset=None):
    out = struct.pack("<i", len(entries))
    for name, ncall, values in entries:
        b = name.encode()
        out += struct.pack("<i", len(b)) + b + struct.pack("<ii", ncall, len(values)) + f32s(*values)
    if chunks is not None:
        out += struct.pack("<i", chunks)
        if dataset is not None:
            out += struct.pack("<i", len(dataset)) + dataset.encode()
    return out


def imatrix_dat_seeds():
    return {
        "one_entry.dat": imatrix_dat([("blk.0.attn_q.weight", 2, [1, 2, 3, 4])]),
        "with_dataset.dat": imatrix_dat([("a", 1, [1]), ("b", 0, [2, 3])], chunks=10, dataset="wiki.train.raw"),
    }


# ---- safetensors (safetensors.md) ----
def safetensors(tensors, metadata=None):
    """tensors: [(name, dtype, shape, data bytes)] stored in order."""
    header, offset = {}, 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, data in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(d for _, _, _, d in tensors)


def safetensors_seeds():
    return {
        "empty.safetensors": safetensors([]),
        "two_tensors.safetensors": safetensors([("a", "F32", [2], f32s(1, 2)), ("b", "BF16", [1, 2], bytes(4))],
                                               metadata={"format": "pt"}),
        "scalar_and_empty.safetensors": safetensors([("s", "I64", [], bytes(8)), ("e", "F16", [0, 3], b"")]),
    }


def index_seeds():
    shard = "model-00001-of-00001.safetensors"  # written beside the index by the target
    return {
        "index.json": json.dumps({"metadata": {"total_size": 11}, "weight_map": {"a": shard, "b": shard}},
                                 indent=2).encode(),
        "index_string_total.json": json.dumps({"metadata": {"total_size": "11"},
                                               "weight_map": {"b": shard, "a": shard}}).encode(),
    }


# ---- model folders (../shared/docs/formats/mlx-quant.md): config.json, NUL, model.safetensors ----
def model_folder(config, tensors):
    return json.dumps(config).encode() + b"\0" + safetensors(tensors)


def model_folder_seeds():
    f16 = lambda *v: struct.pack("<%de" % len(v), *v)  # noqa: E731
    i32 = lambda *v: struct.pack("<%di" % len(v), *v)  # noqa: E731
    affine = [("w.weight", "U32", [2, 8], bytes(range(64))), ("w.scales", "F16", [2, 1], f16(0.5, -0.25)),
              ("w.biases", "F16", [2, 1], f16(1, 2))]
    modes = [("a.weight", "U32", [1, 8], bytes(range(32))), ("a.scales", "U8", [1, 2], b"\x7f\x80"),
             ("b.weight", "U32", [1, 8], bytes(32)), ("b.scales", "U8", [1, 1], b"\x7f"),
             ("c.weight", "U32", [1, 4], bytes(16)), ("c.scales", "U8", [1, 2], b"\x38\x40"),
             ("d.weight", "F16", [1, 32], bytes(64)), ("norm.weight", "F32", [2], f32s(1, 2))]
    awq = [("l.qweight", "I32", [32, 1], bytes(range(128))), ("l.qzeros", "I32", [1, 1], i32(0x12345678)),
           ("l.scales", "F16", [1, 8], f16(*[0.5] * 8)), ("l.bias", "F16", [8], f16(*range(8)))]
    gptq = [("l.qweight", "I32", [4, 8], bytes(range(128))), ("l.qzeros", "I32", [2, 1], i32(0x11111111, 0x77777777)),
            ("l.scales", "F16", [2, 8], f16(*[0.25] * 16)), ("l.g_idx", "I32", [32], i32(*[i % 2 for i in range(32)]))]
    gptq_sym = [("l.qweight", "I32", [16, 8], bytes(512)), ("l.scales", "F16", [2, 8], f16(*[1] * 16))]
    return {
        "plain.bin": model_folder({"model_type": "llama"}, [("w", "F32", [2], f32s(1, 2))]),
        "mlx_affine.bin": model_folder({"quantization": {"group_size": 64, "bits": 4}}, affine),
        "mlx_modes.bin": model_folder({"quantization": {"group_size": 32, "bits": 4, "mode": "mxfp4",
                                                        "b": {"mode": "mxfp8"}, "c": {"mode": "nvfp4"}, "d": False}},
                                      modes),
        "awq.bin": model_folder({"quantization_config": {"quant_method": "awq", "bits": 4, "group_size": 32,
                                                         "zero_point": True, "version": "gemm"}}, awq),
        "gptq_act_order.bin": model_folder({"quantization_config": {"quant_method": "gptq", "bits": 4,
                                                                    "group_size": 16, "desc_act": True}}, gptq),
        "fp8_blocks.bin": model_folder({"quantization_config": {"quant_method": "fp8", "weight_block_size": [2, 4]}},
                                       [("w.weight", "F8_E4M3", [3, 6], bytes(range(18))),
                                        ("w.weight_scale_inv", "F32", [2, 2], f32s(1, 2, 3, 4))]),
        "gptq_sym.bin": model_folder({"quantization_config": {"quant_method": "gptq", "bits": 8, "group_size": 32,
                                                              "sym": True, "checkpoint_format": "gptq_v2"}}, gptq_sym),
    }


# ---- APR v2 (../shared/docs/formats/apr.md) ----
APR_F32, APR_F16, APR_I32, APR_U8, APR_Q4, APR_Q8 = 0, 1, 4, 7, 128, 129
APR_ROW_MAJOR, APR_LZ4, APR_ZSTD = 0x0400, 0x0001, 0x0002
APR_EMPTY_METADATA = (b'{"model_type":"","license":null,"data_source":null,"data_license":null,'
                      b'"total_size":0,"param_count":0}')


def pad64(b):
    return b + b"\0" * (-len(b) % 64)


def apr_fix_checksums(b):
    """Recomputes the header CRC (bytes 40..44) and the footer of an APR v2 file."""
    b = bytearray(b)
    b[40:44] = struct.pack("<I", zlib.crc32(bytes(b[:40]) + bytes(b[44:64])))
    b[-4:] = struct.pack("<I", zlib.crc32(bytes(b[:-4])))
    return bytes(b)


def apr(tensors, metadata=APR_EMPTY_METADATA, flags=APR_ROW_MAJOR, magic=b"APR\0", sizes=None):
    """tensors: [(name, dtype id, dims outermost first, data bytes)], data in this order, each at a
    multiple of 64; the index sorted by name. sizes: {name: stored size} overrides."""
    offsets, data = [], b""
    for _, _, _, d in tensors:
        offsets.append(len(data))
        data += pad64(d)
    index = b""
    for i in sorted(range(len(tensors)), key=lambda i: tensors[i][0].encode()):
        name, dtype, dims, d = tensors[i]
        raw = name.encode()
        size = (sizes or {}).get(name, len(d))
        index += struct.pack("<H", len(raw)) + raw + struct.pack("<BB", dtype, len(dims))
        index += b"".join(struct.pack("<Q", x) for x in dims) + struct.pack("<QQ", offsets[i], size)
    index_off = 64 + len(pad64(metadata))
    data_off = index_off + len(pad64(index))
    header = magic + bytes([2, 0]) + struct.pack("<HIQIQQ", flags, len(tensors), 64, len(metadata), index_off,
                                                  data_off) + bytes(24)
    return apr_fix_checksums(header + pad64(metadata) + pad64(index) + data + bytes(4))


def zstd_raw_frame(data):
    """One zstd frame holding `data` (< 256 bytes) as a single raw block (RFC 8878)."""
    block_header = 1 | (len(data) << 3)  # last block, type raw
    return struct.pack("<IBB", 0xFD2FB528, 0x20, len(data)) + struct.pack("<I", block_header)[:3] + data


def apr_seeds():
    w = ("w", APR_F32, [2, 2], f32s(1, 2, 3, 4))
    example = (b'{"model_type":"example","license":null,"data_source":null,"data_license":null,'
               b'"total_size":0,"param_count":4}')
    typed = (b'{"model_type":"","name":"m","license":null,"data_source":null,"data_license":null,"total_size":0,'
             b'"param_count":0,"quantization":{"quant_type":"q8","bits":8,"block_size":null,"symmetric":true},'
             b'"architecture":"llama","hidden_size":4,"rope_theta":10000.0,"blob":{"k":[1,null]},'
             b'"quantflow.metadata":[["general.architecture","string"],["llama.embedding_length","u64"],'
             b'["apr.json.blob","json"],["general.name","string"]]}')
    return {
        "worked_example.apr": apr([w], metadata=example),
        "empty.apr": apr([]),
        "dtypes.apr": apr([("b", APR_F16, [3], bytes(6)), ("a", APR_I32, [1, 2], bytes(8)),
                           ("q4", APR_Q4, [3, 5], bytes(18)), ("q8", APR_Q8, [5], bytes(9)),
                           ("e", APR_Q8, [0], b""), ("s", APR_U8, [], b"\x07")]),
        "typed_metadata.apr": apr([w], metadata=typed),
        "legacy_magic.apr": apr([w], magic=b"APR2"),
        "lz4_flag_raw_data.apr": apr([w], flags=APR_ROW_MAJOR | APR_LZ4),
        "zstd_tensor.apr": apr([("w", APR_F32, [2, 2], zstd_raw_frame(f32s(1, 2, 3, 4)))],
                               flags=APR_ROW_MAJOR | APR_ZSTD),
        # Beside the target's own shard.apr (a one-tensor file): the manifest opens it.
        "manifest.json": json.dumps({"version": 1, "shard_count": 1, "total_size": 16, "tensor_count": 1,
                                     "shards": [{"filename": "shard.apr", "index": 0, "size": 16,
                                                 "tensors": ["w"]}], "weight_map": {"w": 0}}).encode(),
    }


def batch_seeds():
    return {
        "inline-recipes.yaml": b"""name: inline
output: "{model}/{job}.gguf"
models: [a.gguf, {name: b, path: hf/}]
jobs:
  - {preset: Q4_K_M, set: {preset_options.pure: true}}
  - {name: f16, recipe: {default_type: f16, output: {split_max_tensors: 4}}, shard_tasks: true, models: [a]}
  - {name: mlx, type: mlx_q4, output: "{model}-mlx/"}
exclude: [{model: b, job: "Q*"}]
overrides: [{model: "*", job: f16, set: {threads: 1}}]
slurm: {cpus: 2, memory: 4G, time: "01:00:00", partition: debug, max_parallel: 2, options: ["--qos=low"]}
""",
    }


def copies(folder, names):
    return {n: (REPO / "configs" / folder / n).read_bytes() for n in names}


def main():
    seeds = {
        "gguf": gguf_seeds(),
        "apr": apr_seeds(),
        "safetensors": safetensors_seeds(),
        "safetensors_index": index_seeds(),
        "recipe": copies("examples", ["allowlist.yaml", "fallback.yaml", "hf-to-gguf-f16.yaml", "merge-inputs.yaml",
                                      "metadata-edits.yaml", "preset-q4_k_m.yaml", "mlx-mixed-4-6.yaml", "apr-output.yaml",
                                      "quantize-with-rules.yaml", "split-output.yaml"]),
        "preset": copies("presets", ["COPY.yaml", "F16.yaml", "Q4_K_M.yaml", "IQ3_M.yaml", "MXFP4_MOE.yaml",
                                     "mixed_4_6.yaml"]),
        "imatrix_gguf": imatrix_gguf_seeds(),
        "imatrix_dat": imatrix_dat_seeds(),
        "model_folder": model_folder_seeds(),
        "batch": {**copies("examples", ["batch-gguf-presets.yaml", "batch-hf-folder.yaml"]), **batch_seeds()},
    }
    for target, files in seeds.items():
        folder = CORPUS / target
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for name, data in files.items():
            (folder / name).write_bytes(data)


if __name__ == "__main__":
    main()
