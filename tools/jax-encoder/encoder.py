#!/usr/bin/env python3
"""The `bench train --rows transformer-encoder` model in JAX, jit-compiled on XLA's CPU backend.

A peer to measure the engine against (issue 27), run by hand, never in CI and never by the
product: `pip install jax`, then

    python3 tools/jax-encoder/encoder.py [--steps 30] [--warmup 5]

Same model as src/bench/encoder.rs: pre-LN encoder (layer norm eps 1e-5), B=8 S=256 D=128,
4 heads, MLP 512 with GELU (erf), 2 layers, a final layer norm, the mean over the sequence,
MSE against a fixed random target; Adam (lr 1e-4, betas 0.9/0.999, eps 1e-8, no weight
decay). FLOPs counted as the engine counts them: 3 x the forward matmuls (2.147 GFLOP), 6.44
GFLOP a step. Prints steps/s and GFLOP/s with the CPU model and the load average.
"""

import argparse
import math
import os
import platform
import time


def parse():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=30, help="timed steps")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps (compile included)")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--seq", type=int, default=256)
    p.add_argument("--width", type=int, default=128)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--mlp", type=int, default=512)
    p.add_argument("--layers", type=int, default=2)
    return p.parse_args()


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main():
    a = parse()
    import jax
    import jax.numpy as jnp

    B, S, D, H, F, L = a.batch, a.seq, a.width, a.heads, a.mlp, a.layers
    key = jax.random.PRNGKey(2024)

    def init(key):
        params = {}
        for l in range(L):
            for ln in ("ln1", "ln2"):
                params[f"{l}.{ln}.g"] = jnp.ones((D,))
                params[f"{l}.{ln}.b"] = jnp.zeros((D,))
            for proj in ("q", "k", "v", "o"):
                key, k = jax.random.split(key)
                params[f"{l}.{proj}.w"] = jax.random.normal(k, (D, D)) / math.sqrt(D)
                params[f"{l}.{proj}.b"] = jnp.zeros((D,))
            key, k1, k2 = jax.random.split(key, 3)
            params[f"{l}.up.w"] = jax.random.normal(k1, (D, F)) / math.sqrt(D)
            params[f"{l}.up.b"] = jnp.zeros((F,))
            params[f"{l}.down.w"] = jax.random.normal(k2, (F, D)) / math.sqrt(F)
            params[f"{l}.down.b"] = jnp.zeros((D,))
        params["final.g"] = jnp.ones((D,))
        params["final.b"] = jnp.zeros((D,))
        return params

    def layer_norm(x, g, b):
        m = x.mean(-1, keepdims=True)
        v = ((x - m) ** 2).mean(-1, keepdims=True)
        return (x - m) / jnp.sqrt(v + 1e-5) * g + b

    def attention(p, l, h):
        def heads(t):
            return t.reshape(B, S, H, D // H).transpose(0, 2, 1, 3)

        q = heads(h @ p[f"{l}.q.w"] + p[f"{l}.q.b"])
        k = heads(h @ p[f"{l}.k.w"] + p[f"{l}.k.b"])
        v = heads(h @ p[f"{l}.v.w"] + p[f"{l}.v.b"])
        s = (q @ k.transpose(0, 1, 3, 2)) / math.sqrt(D // H)
        o = jax.nn.softmax(s, axis=-1) @ v
        o = o.transpose(0, 2, 1, 3).reshape(B, S, D)
        return o @ p[f"{l}.o.w"] + p[f"{l}.o.b"]

    def loss(p, x, target):
        for l in range(L):
            x = x + attention(p, l, layer_norm(x, p[f"{l}.ln1.g"], p[f"{l}.ln1.b"]))
            h = layer_norm(x, p[f"{l}.ln2.g"], p[f"{l}.ln2.b"])
            up = jax.nn.gelu(h @ p[f"{l}.up.w"] + p[f"{l}.up.b"], approximate=False)
            x = x + up @ p[f"{l}.down.w"] + p[f"{l}.down.b"]
        x = layer_norm(x, p["final.g"], p["final.b"])
        return ((x.mean(1) - target) ** 2).mean()

    lr, b1, b2, eps = 1e-4, 0.9, 0.999, 1e-8

    @jax.jit
    def step(p, m, v, t, x, target):
        val, g = jax.value_and_grad(loss)(p, x, target)
        t = t + 1
        m = jax.tree_util.tree_map(lambda m, g: b1 * m + (1 - b1) * g, m, g)
        v = jax.tree_util.tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, v, g)
        c1, c2 = 1 - b1**t, 1 - b2**t
        p = jax.tree_util.tree_map(
            lambda p, m, v: p - lr * (m / c1) / (jnp.sqrt(v / c2) + eps), p, m, v
        )
        return p, m, v, t, val

    params = init(key)
    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    m, v, t = zeros, zeros, jnp.float32(0)
    kx, kt = jax.random.split(jax.random.PRNGKey(7))
    x = jax.random.uniform(kx, (B, S, D), minval=-1, maxval=1)
    target = jax.random.uniform(kt, (B, D), minval=-1, maxval=1)

    load = os.getloadavg()[0]
    for _ in range(a.warmup):
        params, m, v, t, val = step(params, m, v, t, x, target)
    val.block_until_ready()
    start = time.perf_counter()
    for _ in range(a.steps):
        params, m, v, t, val = step(params, m, v, t, x, target)
    val.block_until_ready()
    secs = time.perf_counter() - start
    per_layer = 8 * B * S * D * D + 4 * B * S * D * F + 4 * B * S * S * D
    gflop = 3 * per_layer * L / 1e9
    sps = a.steps / secs
    print(
        f"jax {jax.__version__} ({jax.default_backend()}) on {cpu_model()}, "
        f"{os.cpu_count()} cores, load average {load:.2f} at the start"
    )
    print(
        f"transformer-encoder B={B} S={S} D={D} H={H} F={F} L={L}: {sps:.2f} steps/s, "
        f"{sps * gflop:.1f} GFLOP/s ({gflop:.2f} GFLOP a step), final loss {float(val):.4f}"
    )


if __name__ == "__main__":
    main()
