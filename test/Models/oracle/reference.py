"""Independent float64 numpy forward passes of the oracle models (no torch).

Used to sanity-check the chosen init scales here (logits std) and, in run_hf.py,
as a second opinion on HF's logits. The HF logits in fixtures/ remain the oracle.

  forward(name, weights, inputs) -> float64 logits
"""

import math

import numpy as np

from models import config, family


def _layernorm(x, w, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def _softmax(x):
    x = x - x.max(-1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(-1, keepdims=True)


def _gelu_tanh(x):  # HF "gelu_new"
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


_erf = np.frompyfunc(math.erf, 1, 1)


def _gelu_erf(x):  # HF "gelu" (exact)
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)).astype(np.float64))


def _mha(q, k, v, n_head, causal):
    B, S, D = q.shape
    dh = D // n_head
    sp = lambda t: t.reshape(B, S, n_head, dh).transpose(0, 2, 1, 3)
    q, k, v = sp(q), sp(k), sp(v)
    s = q @ k.transpose(0, 1, 3, 2) / math.sqrt(dh)
    if causal:
        s = np.where(np.tril(np.ones((S, S), dtype=bool)), s, -np.inf)
    o = _softmax(s) @ v
    return o.transpose(0, 2, 1, 3).reshape(B, S, D)


def _gpt2(c, W, ids):
    W = {k: v.astype(np.float64) for k, v in W.items()}
    eps = c["layer_norm_epsilon"]
    S = ids.shape[1]
    h = W["transformer.wte.weight"][ids] + W["transformer.wpe.weight"][np.arange(S)][None]
    for i in range(c["n_layer"]):
        p = "transformer.h.%d." % i
        x = _layernorm(h, W[p + "ln_1.weight"], W[p + "ln_1.bias"], eps)
        qkv = x @ W[p + "attn.c_attn.weight"] + W[p + "attn.c_attn.bias"]
        q, k, v = np.split(qkv, 3, axis=-1)
        a = _mha(q, k, v, c["n_head"], causal=True)
        h = h + a @ W[p + "attn.c_proj.weight"] + W[p + "attn.c_proj.bias"]
        x = _layernorm(h, W[p + "ln_2.weight"], W[p + "ln_2.bias"], eps)
        m = _gelu_tanh(x @ W[p + "mlp.c_fc.weight"] + W[p + "mlp.c_fc.bias"])
        h = h + m @ W[p + "mlp.c_proj.weight"] + W[p + "mlp.c_proj.bias"]
    h = _layernorm(h, W["transformer.ln_f.weight"], W["transformer.ln_f.bias"], eps)
    return h @ W["transformer.wte.weight"].T


def _vit(c, W, px):
    W = {k: v.astype(np.float64) for k, v in W.items()}
    px = px.astype(np.float64)
    eps = c["layer_norm_eps"]
    B, C, H, _ = px.shape
    P = c["patch_size"]
    g = H // P
    d = c["hidden_size"]
    # Conv with kernel == stride == P as a matmul over flattened (C, P, P) patches.
    patches = px.reshape(B, C, g, P, g, P).transpose(0, 2, 4, 1, 3, 5).reshape(B, g * g, C * P * P)
    pw = W["vit.embeddings.patch_embeddings.projection.weight"].reshape(d, C * P * P)
    x = patches @ pw.T + W["vit.embeddings.patch_embeddings.projection.bias"]
    cls = np.broadcast_to(W["vit.embeddings.cls_token"], (B, 1, d))
    h = np.concatenate([cls, x], axis=1) + W["vit.embeddings.position_embeddings"]
    lin = lambda t, pre: t @ W[pre + ".weight"].T + W[pre + ".bias"]
    for i in range(c["num_hidden_layers"]):
        p = "vit.encoder.layer.%d." % i
        x = _layernorm(h, W[p + "layernorm_before.weight"], W[p + "layernorm_before.bias"], eps)
        pa = p + "attention.attention."
        a = _mha(lin(x, pa + "query"), lin(x, pa + "key"), lin(x, pa + "value"),
                 c["num_attention_heads"], causal=False)
        h = h + lin(a, p + "attention.output.dense")
        x = _layernorm(h, W[p + "layernorm_after.weight"], W[p + "layernorm_after.bias"], eps)
        h = h + lin(_gelu_erf(lin(x, p + "intermediate.dense")), p + "output.dense")
    h = _layernorm(h, W["vit.layernorm.weight"], W["vit.layernorm.bias"], eps)
    return lin(h[:, 0, :], "classifier")


def forward(name, weights, inputs):
    c = config(name)
    if family(name) == "gpt2":
        return _gpt2(c, weights, inputs)
    return _vit(c, weights, inputs)
