"""Shared definitions of the synthetic HF checkpoints used as fly's numerical oracle.

numpy only (no torch): imported by make_model.py (CI) and run_hf.py (torch machine).

  MODELS[name]          -> {"config": <HF config.json dict>, "input": <input spec>}
  param_specs(name)     -> [(key, shape), ...]  every tensor HF save_pretrained writes,
                           in the model's state_dict order (tied lm_head excluded)
  gen_weights(name, s)  -> {key: float32 ndarray}, deterministic (PCG64, default_rng(s))
  gen_inputs(name, s)   -> ndarray (int64 ids or float32 pixels), deterministic
                           (default_rng(s + INPUT_SEED_OFFSET))
"""

import math

import numpy as np

DEFAULT_SEED = 0
# Inputs use their own stream so they are not correlated with the first weights.
INPUT_SEED_OFFSET = 1


def _gpt2_config(n_layer, n_embd, n_head, vocab_size, n_positions):
    return {
        "activation_function": "gelu_new",
        "architectures": ["GPT2LMHeadModel"],
        "attn_pdrop": 0.1,
        "bos_token_id": vocab_size - 1,
        "embd_pdrop": 0.1,
        "eos_token_id": vocab_size - 1,
        "initializer_range": 0.02,
        "layer_norm_epsilon": 1e-05,
        "model_type": "gpt2",
        "n_embd": n_embd,
        "n_head": n_head,
        "n_inner": None,
        "n_layer": n_layer,
        "n_positions": n_positions,
        "reorder_and_upcast_attn": False,
        "resid_pdrop": 0.1,
        "scale_attn_by_inverse_layer_idx": False,
        "scale_attn_weights": True,
        "tie_word_embeddings": True,
        "use_cache": True,
        "vocab_size": vocab_size,
    }


def _vit_config(image_size, patch_size, hidden_size, num_hidden_layers,
                num_attention_heads, intermediate_size, num_labels):
    return {
        "architectures": ["ViTForImageClassification"],
        "attention_probs_dropout_prob": 0.0,
        "encoder_stride": patch_size,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.0,
        "hidden_size": hidden_size,
        "id2label": {str(i): "LABEL_%d" % i for i in range(num_labels)},
        "image_size": image_size,
        "initializer_range": 0.02,
        "intermediate_size": intermediate_size,
        "label2id": {"LABEL_%d" % i: i for i in range(num_labels)},
        "layer_norm_eps": 1e-12,
        "model_type": "vit",
        "num_attention_heads": num_attention_heads,
        "num_channels": 3,
        "num_hidden_layers": num_hidden_layers,
        "patch_size": patch_size,
        "qkv_bias": True,
    }


MODELS = {
    "tiny-gpt2": {
        "config": _gpt2_config(n_layer=2, n_embd=64, n_head=4, vocab_size=512, n_positions=128),
        "input": {"name": "input_ids", "dtype": "int64", "shape": [2, 16]},
    },
    "gpt2-d256": {
        "config": _gpt2_config(n_layer=4, n_embd=256, n_head=8, vocab_size=1024, n_positions=128),
        "input": {"name": "input_ids", "dtype": "int64", "shape": [1, 128]},
    },
    "tiny-vit": {
        "config": _vit_config(image_size=32, patch_size=8, hidden_size=64, num_hidden_layers=2,
                              num_attention_heads=4, intermediate_size=128, num_labels=10),
        "input": {"name": "pixel_values", "dtype": "float32", "shape": [2, 3, 32, 32]},
    },
    "vit-224": {
        "config": _vit_config(image_size=224, patch_size=16, hidden_size=64, num_hidden_layers=2,
                              num_attention_heads=4, intermediate_size=128, num_labels=10),
        "input": {"name": "pixel_values", "dtype": "float32", "shape": [1, 3, 224, 224]},
    },
}


def family(name):
    return MODELS[name]["config"]["model_type"]  # "gpt2" or "vit"


def config(name):
    return MODELS[name]["config"]


def param_specs(name):
    """Ordered (key, shape) of every tensor save_pretrained writes (state_dict order)."""
    c = config(name)
    specs = []
    if family(name) == "gpt2":
        d, V, P = c["n_embd"], c["vocab_size"], c["n_positions"]
        inner = c["n_inner"] if c["n_inner"] is not None else 4 * d
        specs.append(("transformer.wte.weight", (V, d)))
        specs.append(("transformer.wpe.weight", (P, d)))
        for i in range(c["n_layer"]):
            p = "transformer.h.%d." % i
            specs += [
                (p + "ln_1.weight", (d,)), (p + "ln_1.bias", (d,)),
                # GPT-2 Conv1D stores weight as [in, out].
                (p + "attn.c_attn.weight", (d, 3 * d)), (p + "attn.c_attn.bias", (3 * d,)),
                (p + "attn.c_proj.weight", (d, d)), (p + "attn.c_proj.bias", (d,)),
                (p + "ln_2.weight", (d,)), (p + "ln_2.bias", (d,)),
                (p + "mlp.c_fc.weight", (d, inner)), (p + "mlp.c_fc.bias", (inner,)),
                (p + "mlp.c_proj.weight", (inner, d)), (p + "mlp.c_proj.bias", (d,)),
            ]
        specs += [("transformer.ln_f.weight", (d,)), ("transformer.ln_f.bias", (d,))]
        # lm_head.weight is tied to transformer.wte.weight and not saved.
    else:
        d, I, C, Ps = c["hidden_size"], c["intermediate_size"], c["num_channels"], c["patch_size"]
        n_patches = (c["image_size"] // Ps) ** 2
        L = len(c["id2label"])
        specs += [
            ("vit.embeddings.cls_token", (1, 1, d)),
            ("vit.embeddings.position_embeddings", (1, n_patches + 1, d)),
            ("vit.embeddings.patch_embeddings.projection.weight", (d, C, Ps, Ps)),
            ("vit.embeddings.patch_embeddings.projection.bias", (d,)),
        ]
        for i in range(c["num_hidden_layers"]):
            p = "vit.encoder.layer.%d." % i
            for qkv in ("query", "key", "value"):
                specs += [(p + "attention.attention.%s.weight" % qkv, (d, d)),
                          (p + "attention.attention.%s.bias" % qkv, (d,))]
            specs += [
                (p + "attention.output.dense.weight", (d, d)), (p + "attention.output.dense.bias", (d,)),
                (p + "intermediate.dense.weight", (I, d)), (p + "intermediate.dense.bias", (I,)),
                (p + "output.dense.weight", (d, I)), (p + "output.dense.bias", (d,)),
                (p + "layernorm_before.weight", (d,)), (p + "layernorm_before.bias", (d,)),
                (p + "layernorm_after.weight", (d,)), (p + "layernorm_after.bias", (d,)),
            ]
        specs += [
            ("vit.layernorm.weight", (d,)), ("vit.layernorm.bias", (d,)),
            ("classifier.weight", (L, d)), ("classifier.bias", (L,)),
        ]
    return [(k, tuple(s)) for k, s in specs]


def _is_layernorm(key):
    return any(t in key for t in (".ln_1.", ".ln_2.", ".ln_f.", "layernorm"))


def _fan_in(key, shape):
    if len(shape) == 4:            # conv [out, C, P, P]
        return shape[1] * shape[2] * shape[3]
    if key.startswith("transformer."):
        return shape[0]            # GPT-2 Conv1D [in, out]
    return shape[1]                # nn.Linear [out, in]


def init_scale(key, shape):
    """(offset, std) of the init for one tensor; value = offset + std * N(0, 1).

    Matrix weights use std 1/sqrt(fan_in) (not a flat 0.05) so that q.k/sqrt(dh)
    attention scores have std ~1 at every width: a flat 0.05 would give near-uniform
    attention for d=64 and hide scale/mask bugs.
    """
    if _is_layernorm(key):
        return (1.0, 0.1) if key.endswith(".weight") else (0.0, 0.05)
    if key.endswith(".bias"):
        return 0.0, 0.05
    if key in ("transformer.wte.weight", "transformer.wpe.weight",
               "vit.embeddings.cls_token", "vit.embeddings.position_embeddings"):
        return 0.0, 0.1
    return 0.0, 1.0 / math.sqrt(_fan_in(key, shape))


def gen_weights(name, seed=DEFAULT_SEED):
    rng = np.random.default_rng(seed)
    out = {}
    for key, shape in param_specs(name):
        offset, std = init_scale(key, shape)
        z = rng.standard_normal(shape, dtype=np.float64)
        out[key] = np.ascontiguousarray((offset + std * z).astype(np.float32))
    return out


def gen_inputs(name, seed=DEFAULT_SEED):
    spec = MODELS[name]["input"]
    rng = np.random.default_rng(seed + INPUT_SEED_OFFSET)
    shape = tuple(spec["shape"])
    if spec["dtype"] == "int64":
        return rng.integers(0, config(name)["vocab_size"], size=shape, dtype=np.int64)
    return rng.uniform(-1.0, 1.0, size=shape).astype(np.float32)


def read_safetensors_header(path):
    """(header dict without __metadata__, metadata dict, data start offset); stdlib only."""
    import json
    import struct
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    meta = header.pop("__metadata__", {}) or {}
    return header, meta, 8 + n


def tensor_sha256s(path):
    """{key: sha256 hex of the tensor's raw bytes as stored in the .safetensors file}."""
    import hashlib
    header, _, base = read_safetensors_header(path)
    out = {}
    with open(path, "rb") as f:
        for key, info in header.items():
            begin, end = info["data_offsets"]
            f.seek(base + begin)
            data = f.read(end - begin)
            if len(data) != end - begin:
                raise ValueError("%s: tensor %s truncated" % (path, key))
            out[key] = hashlib.sha256(data).hexdigest()
    return out


def sha256_lines(path, keys):
    """'key sha256' lines in the given key order (param_specs order for fixtures)."""
    sums = tensor_sha256s(path)
    return ["%s %s" % (k, sums[k]) for k in keys]
