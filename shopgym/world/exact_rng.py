"""numpy's ``PCG64`` generator and three of its samplers, replayed inside compiled code, number for number.

A compiled loop that needs a few thousand random numbers per call pays several ns per number calling back into a
``numpy.random.Generator`` (numba's generator support goes through a function pointer per number), and numpy's
batched calls cost about a microsecond each on top of their numbers. Here the generator's state (four ``uint64``:
the 128-bit LCG state and increment, low word first) lives in an array, and ``next64`` advances it exactly as
numpy's ``PCG64`` does (``state = state x MULT + inc`` mod 2**128 in one 128-bit multiply-add, then the XSL-RR
output), so the numbers are the generator's own: ``next_double`` is ``Generator.random``, ``standard_normal`` is
``Generator.standard_normal`` (numpy's ziggurat and tables) and ``poisson`` is ``Generator.poisson`` (PTRS for
``lam >= 10``, multiplication below), each a line-by-line translation of numpy's ``distributions.c`` (tested
against numpy in ``tests/world/test_exact_rng.py``).

Use: ``load_state(generator)`` copies a ``PCG64`` generator's state out (``None`` for any other bit generator, or
one holding a buffered 32-bit half); draw in compiled code; ``store_state(generator, state)`` puts the advanced
state back, after which the generator continues exactly where the compiled draws stopped.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np

from shopgym.world.kernel import compile_kernel

_U64 = np.uint64
#: ``PCG64``'s 128-bit LCG multiplier.
_MULT = 0x2360ED051FC65DA44385DF649FCCF645
_MASK64 = (1 << 64) - 1

try:  # numpy's ziggurat tables for standard normals, as numba ships them (the compiled path needs numba anyway)
    from llvmlite import ir
    from numba.core import types
    from numba.extending import intrinsic
    from numba.np.random._constants import fi_double, ki_double, wi_double, ziggurat_nor_inv_r, ziggurat_nor_r
except ImportError:  # pragma: no cover - without numba nothing here is compiled or used
    fi_double = ki_double = wi_double = np.zeros(256)
    ziggurat_nor_inv_r = ziggurat_nor_r = 0.0
    intrinsic = None

if intrinsic is not None:

    @intrinsic
    def _lcg_step(typingctx, st):
        """``st[0:2] = (st[0:2] x MULT + st[2:4]) mod 2**128`` on ``[lo, hi, inc_lo, inc_hi]`` (a C-contiguous
        uint64 array) in one 128-bit multiply-add, as numpy's ``PCG64`` does it."""
        if not (isinstance(st, types.Array) and st.dtype == types.uint64 and st.layout == "C"):
            return None

        def codegen(context, builder, signature, args):
            data = context.make_array(signature.args[0])(context, builder, args[0]).data
            i64, i128 = ir.IntType(64), ir.IntType(128)
            ptr = [builder.gep(data, [ir.Constant(i64, k)]) for k in range(4)]
            word = [builder.zext(builder.load(p), i128) for p in ptr]
            high = ir.Constant(i128, 64)
            state = builder.or_(word[0], builder.shl(word[1], high))
            inc = builder.or_(word[2], builder.shl(word[3], high))
            new = builder.add(builder.mul(state, ir.Constant(i128, _MULT)), inc)
            builder.store(builder.trunc(new, i64), ptr[0])
            builder.store(builder.trunc(builder.lshr(new, high), i64), ptr[1])
            return context.get_dummy_value()

        return types.void(st), codegen

_LOGGAM = np.array([8.333333333333333e-02, -2.777777777777778e-03, 7.936507936507937e-04, -5.952380952380952e-04,
                    8.417508417508418e-04, -1.917526917526918e-03, 6.410256410256410e-03, -2.955065359477124e-02,
                    1.796443723688307e-01, -1.39243221690590e00])


def load_state(generator: np.random.Generator) -> np.ndarray | None:
    """The generator's ``PCG64`` state as ``[state_lo, state_hi, inc_lo, inc_hi]`` uint64, or ``None`` when it is not
    a ``PCG64`` or holds a buffered 32-bit half (then it cannot be replayed here)."""
    st = generator.bit_generator.state
    if st.get("bit_generator") != "PCG64" or st.get("has_uint32", 0):
        return None
    s, inc = int(st["state"]["state"]), int(st["state"]["inc"])
    return np.array([s & _MASK64, s >> 64, inc & _MASK64, inc >> 64], dtype=np.uint64)


def store_state(generator: np.random.Generator, state: np.ndarray) -> None:
    """Put ``state`` (as ``load_state`` gives it, advanced by compiled draws) back into the generator."""
    lo, hi, ilo, ihi = (int(x) for x in state)
    generator.bit_generator.state = {"bit_generator": "PCG64", "state": {"state": lo | (hi << 64), "inc": ilo | (ihi << 64)},
                                     "has_uint32": 0, "uinteger": 0}


def _next64(st):
    """The next 64 random bits of the stream whose state is ``st`` (C-contiguous, advanced in place)."""
    _lcg_step(st)
    out_lo, out_hi = st[0], st[1]
    rot = out_hi >> _U64(58)
    x = out_hi ^ out_lo
    return (x >> rot) | (x << ((_U64(64) - rot) & _U64(63)))


next64 = compile_kernel(_next64)


def _next_double(st):
    """``Generator.random()``: a double in [0, 1) from the top 53 bits."""
    return np.float64(next64(st) >> _U64(11)) * (1.0 / 9007199254740992.0)


next_double = compile_kernel(_next_double)


def _standard_normal(st):
    """``Generator.standard_normal()`` (numpy's ziggurat, ``random_standard_normal``)."""
    while True:
        r = next64(st)
        idx = r & _U64(0xFF)
        r = r >> _U64(8)
        rabs = (r >> _U64(1)) & _U64(0x000FFFFFFFFFFFFF)
        x = np.float64(rabs) * wi_double[idx]
        if r & _U64(1):
            x = -x
        if rabs < ki_double[idx]:
            return x
        if idx == 0:
            while True:
                xx = -ziggurat_nor_inv_r * np.log1p(-next_double(st))
                yy = -np.log1p(-next_double(st))
                if yy + yy > xx * xx:
                    return -(ziggurat_nor_r + xx) if (rabs >> _U64(8)) & _U64(1) else ziggurat_nor_r + xx
        elif (fi_double[idx - 1] - fi_double[idx]) * next_double(st) + fi_double[idx] < np.exp(-0.5 * x * x):
            return x


standard_normal = compile_kernel(_standard_normal)


def _loggam(x):
    """numpy's ``random_loggam``: log Gamma(x) for the Poisson sampler."""
    if x == 1.0 or x == 2.0:
        return 0.0
    n = int(7 - x) if x < 7.0 else 0
    x0 = x + n
    x2 = (1.0 / x0) * (1.0 / x0)
    gl0 = _LOGGAM[9]
    for k in range(8, -1, -1):
        gl0 *= x2
        gl0 += _LOGGAM[k]
    gl = gl0 / x0 + 0.5 * 1.8378770664093453e00 + (x0 - 0.5) * np.log(x0) - x0
    if x < 7.0:
        for _ in range(n):
            gl -= np.log(x0 - 1.0)
            x0 -= 1.0
    return gl


loggam = compile_kernel(_loggam)


def _poisson(st, lam):
    """``Generator.poisson(lam)`` (numpy's ``random_poisson``: PTRS for ``lam >= 10``, multiplication below)."""
    if lam >= 10:
        slam, loglam = np.sqrt(lam), np.log(lam)
        b = 0.931 + 2.53 * slam
        a = -0.059 + 0.02483 * b
        invalpha = 1.1239 + 1.1328 / (b - 3.4)
        vr = 0.9277 - 3.6224 / (b - 2)
        while True:
            u = next_double(st) - 0.5
            v = next_double(st)
            us = 0.5 - np.fabs(u)
            k = np.int64(np.floor((2 * a / us + b) * u + lam + 0.43))
            if us >= 0.07 and v <= vr:
                return k
            if k < 0 or (us < 0.013 and v > us):
                continue
            if np.log(v) + np.log(invalpha) - np.log(a / (us * us) + b) <= -lam + k * loglam - loggam(k + 1.0):
                return k
    if lam == 0:
        return np.int64(0)
    enlam = np.exp(-lam)
    x = np.int64(0)
    prod = 1.0
    while True:
        prod *= next_double(st)
        if prod > enlam:
            x += 1
        else:
            return x


poisson = compile_kernel(_poisson)


#: Poisson means the self-check draws at: both of numpy's algorithms and the switch between them.
CHECK_MEANS = (0.5, 9.99, 10.0, 200.0)


@functools.cache
def replays_numpy(n: int = 500) -> bool:
    """Whether the compiled draws here give numpy's, number for number, on this numpy and platform: ``n`` uniforms,
    normals and Poisson draws at each of ``CHECK_MEANS`` from fixed seeds, and the generator state after them.
    NumPy may change what ``Generator`` draws between releases (NEP 19), and a platform may round differently; the
    compiled Ads step (``shopgym.envs.ads_fast``) runs only where this holds, else the reference path does. Checked
    once per process (a few ms)."""
    try:
        for seed, draw, compiled in ((1, lambda g: g.random(), next_double),
                                     (2, lambda g: g.standard_normal(), standard_normal),
                                     *((3 + i, (lambda g, m=m: g.poisson(m)), (lambda st, m=m: poisson(st, m)))
                                       for i, m in enumerate(CHECK_MEANS))):
            ref, ours = np.random.default_rng(seed), np.random.default_rng(seed)
            st = load_state(ours)
            want = [draw(ref) for _ in range(n)]
            got = [compiled(st) for _ in range(n)]
            store_state(ours, st)
            if want != got or ref.bit_generator.state != ours.bit_generator.state:
                _slow_path(f"numpy {np.__version__} draws differently from the compiled replay of its generator")
                return False
        return True
    except Exception as exc:  # noqa: BLE001 - a kernel that fails to compile here means: use the reference path
        _slow_path(f"the compiled replay of numpy's generator failed ({type(exc).__name__}: {exc})")
        return False


def _slow_path(why: str) -> None:
    warnings.warn(f"{why}; shopgym/Ads-v0 steps on its reference path instead (the same trajectories, about 5x "
                  "slower). Please report this with your numpy and numba versions.", RuntimeWarning, stacklevel=3)
