"""JAX side of the throughput benchmark (see DistillBench/main.swift for the workloads).

`pip install jax` (CPU). The whole training step, optimizer included, is one `jax.jit`
function with parameters and momentum buffers donated; timing starts after compilation.
"""
import bench_common as bc


def main():
    args = bc.parse_args("JAX throughput benchmark")
    import jax
    import jax.numpy as jnp
    import numpy as np

    rng = np.random.default_rng(args.seed)

    def batches(count, n, shape=(1, 28, 28)):
        xs = [jnp.asarray(rng.random((n, *shape), dtype=np.float32)) for _ in range(count)]
        ys = [jnp.asarray(rng.integers(0, 10, n), dtype=jnp.int32) for _ in range(count)]
        return xs, ys

    def uniform(shape, fan_in):
        b = 1 / np.sqrt(fan_in)
        return jnp.asarray(rng.uniform(-b, b, shape).astype(np.float32))

    def linear_params(n_in, n_out):
        return {"w": uniform((n_in, n_out), n_in), "b": uniform((n_out,), n_in)}

    def conv_params(c_in, c_out):
        return {"w": uniform((c_out, c_in, 3, 3), c_in * 9), "b": uniform((c_out,), c_in * 9)}

    def mlp_params(hidden=1200):
        return [linear_params(784, hidden), linear_params(hidden, hidden), linear_params(hidden, 10)]

    def mlp_apply(params, x, key=None):
        h = x.reshape(x.shape[0], -1)
        for i, p in enumerate(params):
            h = h @ p["w"] + p["b"]
            if i < len(params) - 1:
                h = jax.nn.relu(h)
                if key is not None:
                    key, sub = jax.random.split(key)
                    keep = jax.random.bernoulli(sub, 0.5, h.shape)
                    h = jnp.where(keep, h * 2, 0)
        return h

    def cnn_params():
        return {"c1": conv_params(1, 32), "c2": conv_params(32, 64),
                "l1": linear_params(3136, 128), "l2": linear_params(128, 10)}

    def conv(p, x):
        y = jax.lax.conv_general_dilated(x, p["w"], (1, 1), ((1, 1), (1, 1)),
                                         dimension_numbers=("NCHW", "OIHW", "NCHW"))
        return y + p["b"][None, :, None, None]

    def pool(x):
        return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")

    def cnn_apply(params, x, key=None):
        h = pool(jax.nn.relu(conv(params["c1"], x)))
        h = pool(jax.nn.relu(conv(params["c2"], h)))
        h = h.reshape(h.shape[0], -1)
        h = jax.nn.relu(h @ params["l1"]["w"] + params["l1"]["b"])
        return h @ params["l2"]["w"] + params["l2"]["b"]

    def train(apply, params, dropout):
        xs, ys = batches(8, 128)
        velocity = jax.tree_util.tree_map(jnp.zeros_like, params)

        def loss_fn(params, x, y, key):
            logits = apply(params, x, key if dropout else None)
            logp = jax.nn.log_softmax(logits)
            return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

        def step(params, velocity, x, y, key):
            key, sub = jax.random.split(key)
            loss, grads = jax.value_and_grad(loss_fn)(params, x, y, sub)
            velocity = jax.tree_util.tree_map(lambda v, g: 0.9 * v + g, velocity, grads)
            params = jax.tree_util.tree_map(lambda p, v: p - 0.01 * v, params, velocity)
            return params, velocity, key, loss

        step = jax.jit(step, donate_argnums=(0, 1))
        state = {"p": params, "v": velocity, "k": jax.random.PRNGKey(args.seed), "i": 0, "loss": None}

        def one():
            k = state["i"] % len(xs)
            state["i"] += 1
            state["p"], state["v"], state["k"], state["loss"] = step(state["p"], state["v"], xs[k], ys[k], state["k"])
        return bc.measure(128, args, one, sync=lambda: jax.block_until_ready(state["p"]))

    # ResNet-20 (workloads f, g): RepDistiller's definition as in torch_bench.py, batch norm in
    # train mode (batch statistics; running statistics carried through the step as state).
    def resnet_init(channels):
        convw = lambda cin, cout, k: uniform((cout, cin, k, k), cin * k * k)
        bn = lambda c: {"g": jnp.ones(c), "b": jnp.zeros(c)}
        stat = lambda c: {"mean": jnp.zeros(c), "var": jnp.ones(c)}
        params = {"conv1": convw(channels, 16, 3), "bn1": bn(16), "blocks": [], "fc": linear_params(64, 10)}
        stats = {"bn1": stat(16), "blocks": []}
        strides, cin = [], 16
        for cout, stride in ((16, 1), (32, 2), (64, 2)):
            for j in range(3):
                st = stride if j == 0 else 1
                b = {"c1": convw(cin, cout, 3), "bn1": bn(cout), "c2": convw(cout, cout, 3), "bn2": bn(cout)}
                bs = {"bn1": stat(cout), "bn2": stat(cout)}
                if st != 1 or cin != cout:
                    b["down"], b["bnd"], bs["bnd"] = convw(cin, cout, 1), bn(cout), stat(cout)
                params["blocks"].append(b)
                stats["blocks"].append(bs)
                strides.append(st)
                cin = cout
        return params, stats, strides

    def resnet_apply(params, stats, strides, x):
        def conv2d(w, x, stride):
            pad = w.shape[2] // 2
            return jax.lax.conv_general_dilated(x, w, (stride, stride), ((pad, pad), (pad, pad)),
                                                dimension_numbers=("NCHW", "OIHW", "NCHW"))

        def bn(p, s, x):
            mean = x.mean(axis=(0, 2, 3))
            var = x.var(axis=(0, 2, 3))
            m = x.shape[0] * x.shape[2] * x.shape[3]
            new = {"mean": 0.9 * s["mean"] + 0.1 * mean, "var": 0.9 * s["var"] + 0.1 * var * m / (m - 1)}
            y = (x - mean[None, :, None, None]) * jax.lax.rsqrt(var + 1e-5)[None, :, None, None]
            return y * p["g"][None, :, None, None] + p["b"][None, :, None, None], new

        h, s1 = bn(params["bn1"], stats["bn1"], conv2d(params["conv1"], x, 1))
        h = jax.nn.relu(h)
        new_stats = {"bn1": s1, "blocks": []}
        for p, s, st in zip(params["blocks"], stats["blocks"], strides):
            o, n1 = bn(p["bn1"], s["bn1"], conv2d(p["c1"], h, st))
            o, n2 = bn(p["bn2"], s["bn2"], conv2d(p["c2"], jax.nn.relu(o), 1))
            ns = {"bn1": n1, "bn2": n2}
            if "down" in p:
                sc, ns["bnd"] = bn(p["bnd"], s["bnd"], conv2d(p["down"], h, st))
            else:
                sc = h
            h = jax.nn.relu(o + sc)
            new_stats["blocks"].append(ns)
        h = h.mean(axis=(2, 3))
        return h @ params["fc"]["w"] + params["fc"]["b"], new_stats

    def train_resnet(channels, side):
        xs, ys = batches(8, 128, (channels, side, side))
        params, stats, strides = resnet_init(channels)
        velocity = jax.tree_util.tree_map(jnp.zeros_like, params)

        def loss_fn(params, stats, x, y):
            logits, new_stats = resnet_apply(params, stats, strides, x)
            logp = jax.nn.log_softmax(logits)
            return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1)), new_stats

        def step(params, velocity, stats, x, y):
            (loss, stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, stats, x, y)
            grads = jax.tree_util.tree_map(lambda g, p: g + 5e-4 * p, grads, params)
            velocity = jax.tree_util.tree_map(lambda v, g: 0.9 * v + g, velocity, grads)
            params = jax.tree_util.tree_map(lambda p, v: p - 0.01 * v, params, velocity)
            return params, velocity, stats, loss

        step = jax.jit(step, donate_argnums=(0, 1, 2))
        state = {"p": params, "v": velocity, "s": stats, "i": 0}

        def one():
            k = state["i"] % len(xs)
            state["i"] += 1
            state["p"], state["v"], state["s"], _ = step(state["p"], state["v"], state["s"], xs[k], ys[k])
        return bc.measure(128, args, one, sync=lambda: jax.block_until_ready(state["p"]))

    def distill(teacher, student, T=4.0, alpha=0.9):
        xs, ys = batches(8, 128)
        velocity = jax.tree_util.tree_map(jnp.zeros_like, student)

        def loss_fn(student, teacher, x, y):
            t = jax.lax.stop_gradient(mlp_apply(teacher, x))
            s = mlp_apply(student, x)
            pt = jax.nn.softmax(t / T)
            kl = jnp.sum(pt * (jax.nn.log_softmax(t / T) - jax.nn.log_softmax(s / T))) / x.shape[0]
            ce = -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(s), y[:, None], axis=1))
            return alpha * T * T * kl + (1 - alpha) * ce

        def step(student, velocity, teacher, x, y):
            loss, grads = jax.value_and_grad(loss_fn)(student, teacher, x, y)
            velocity = jax.tree_util.tree_map(lambda v, g: 0.9 * v + g, velocity, grads)
            student = jax.tree_util.tree_map(lambda p, v: p - 0.01 * v, student, velocity)
            return student, velocity, loss

        step = jax.jit(step, donate_argnums=(0, 1))
        state = {"s": student, "v": velocity, "i": 0}

        def one():
            k = state["i"] % len(xs)
            state["i"] += 1
            state["s"], state["v"], _ = step(state["s"], state["v"], teacher, xs[k], ys[k])
        return bc.measure(128, args, one, sync=lambda: jax.block_until_ready(state["s"]))

    def infer(params):
        xs, _ = batches(4, 1024)
        fwd = jax.jit(mlp_apply)
        state = {"i": 0, "out": None}

        def one():
            state["out"] = fwd(params, xs[state["i"] % len(xs)])
            state["i"] += 1
        return bc.measure(1024, args, one, sync=lambda: jax.block_until_ready(state["out"]))

    for w in args.workloads:
        if w == "a":
            rates = train(mlp_apply, mlp_params(), False)
        elif w == "b":
            rates = train(mlp_apply, mlp_params(), True)
        elif w == "c":
            rates = train(cnn_apply, cnn_params(), False)
        elif w == "e":
            rates = distill(mlp_params(), mlp_params(800))
        elif w == "f":
            rates = train_resnet(3, 32)
        elif w == "g":
            rates = train_resnet(1, 28)
        else:
            rates = infer(mlp_params())
        bc.report("jax", w, rates, jax=jax.__version__)


if __name__ == "__main__":
    main()
