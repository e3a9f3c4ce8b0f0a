"""Fused CPU kernels compiled from a user's rule function: the rule is traced, then generated as numba code.

A rule registered from a notebook has no hand-written kernel. Its ``init``
and ``step`` are traced once per reservoir (:func:`pixelflow.rules.trace.trace_rule`)
into an expression graph, and the graph is written out as one numba
function with the layout of the built-in kernels: each sample evolves
through all its steps while its grid stays in cache, the recorded steps are
pooled on the fly, and samples run in parallel.

Inside a step, element-wise chains are fused into one loop over the cells;
an intermediate array is stored (in a per-thread buffer with a halo for its
neighbours) only where a later operation reads it at other cells (a
neighbour) or other channels (a channel sum, a channel mix, a write into
some channels). Every operation keeps NumPy's order and NumPy's dtypes
(a Python number meets a float32 array as a float32), so element-wise
arithmetic gives the rule function's bits; ``exp``, ``tanh`` and the like
come from a different math library and channel mixes may sum in a different
order, a few units in the last place.

:func:`compile_rule` checks each compiled kernel against the rule function
on a probe batch before it is used, and says why when it runs the rule
function instead.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numba import njit, prange
from numba.core.errors import NumbaError

from pixelflow.backends.cpu.halo import MODES
from pixelflow.backends.cpu.recording import block_size, write_maps
from pixelflow.backends.fused import layout
from pixelflow.rules.trace import Node, RuleGraph, TraceError, trace_rule

__all__ = ["PROBE_TOLERANCE", "CompiledRule", "compile_rule", "generate_source"]

#: Largest difference, relative to the feature's size (or absolute below 1), allowed between the compiled kernel
#: and the rule function on the probe batch.
PROBE_TOLERANCE = 1e-5

#: Samples of the probe batch a compiled kernel is checked on.
PROBE_SAMPLES = 3


@njit(cache=True, inline="always")
def fill_halo_r(p, r, mode):
    """Fill the ``r``-cell border of a padded plane from its interior (``mode`` as in :data:`MODES`)."""
    hp, wp = p.shape
    h, w = hp - 2 * r, wp - 2 * r
    for k in range(r):
        for x in range(r, r + w):
            if mode == 0:
                p[r - 1 - k, x] = p[r + h - 1 - k, x]
                p[r + h + k, x] = p[r + k, x]
            elif mode == 1:
                p[r - 1 - k, x] = 0
                p[r + h + k, x] = 0
            else:
                p[r - 1 - k, x] = p[r, x]
                p[r + h + k, x] = p[r + h - 1, x]
    for y in range(hp):
        for k in range(r):
            if mode == 0:
                p[y, r - 1 - k] = p[y, r + w - 1 - k]
                p[y, r + w + k] = p[y, r + k]
            elif mode == 1:
                p[y, r - 1 - k] = 0
                p[y, r + w + k] = 0
            else:
                p[y, r - 1 - k] = p[y, r]
                p[y, r + w + k] = p[y, r + w - 1]


# ---------------------------------------------------------------- code generation

_NUMBA_TYPES = {"float32": "np.float32", "float64": "np.float64", "int64": "np.int64", "int32": "np.int32",
                "int16": "np.int16", "int8": "np.int8", "uint8": "np.uint8", "uint16": "np.uint16",
                "uint32": "np.uint32", "uint64": "np.uint64", "float16": "np.float16", "bool": "np.bool_"}

_INFIX = {"add": "+", "subtract": "-", "multiply": "*", "divide": "/", "less": "<", "less_equal": "<=",
          "greater": ">", "greater_equal": ">=", "equal": "==", "not_equal": "!="}

_UNARY = {"exp": "np.exp({})", "log": "np.log({})", "tanh": "np.tanh({})", "sin": "np.sin({})",
          "cos": "np.cos({})", "sqrt": "np.sqrt({})", "absolute": "abs({})", "negative": "(-{})",
          "floor": "np.floor({})", "ceil": "np.ceil({})", "square": "({0} * {0})", "expm1": "np.expm1({})",
          "log1p": "np.log1p({})", "arctan": "np.arctan({})", "sinh": "np.sinh({})", "cosh": "np.cosh({})",
          "logical_not": "(not {})"}


def _type(dtype: np.dtype) -> str:
    name = np.dtype(dtype).name
    if name not in _NUMBA_TYPES:
        raise TraceError(f"dtype {name} is not supported by the rule compiler")
    return _NUMBA_TYPES[name]


def _cast(expr: str, src: np.dtype, dst: np.dtype) -> str:
    if src == dst:
        return expr
    if dst == np.dtype(bool):
        return f"({expr} != 0)"
    if src == np.dtype(bool):
        return f"({_type(dst)}(1) if {expr} else {_type(dst)}(0))"
    return f"{_type(dst)}({expr})"


@dataclass
class _Buffer:
    name: str
    node: Node
    halo: int = 0
    mode: int = -1  # boundary of the neighbours read from it (-1: none)


class _Scope:
    """Lines of one loop body, with each value computed once per (node, index)."""

    def __init__(self, lines: list, indent: int, parent: _Scope | None = None):
        self.lines, self.indent, self.parent = lines, indent, parent
        self.memo: dict = {}

    def emit(self, line: str) -> None:
        self.lines.append("    " * self.indent + line)

    def find(self, key):
        scope = self
        while scope is not None:
            if key in scope.memo:
                return scope.memo[key]
            scope = scope.parent
        return None


class _Program:
    """The code of one traced graph (``init`` or ``step``) writing its root into a state buffer."""

    def __init__(self, gen: _Generator, root: Node, target: str, target_halo: int, target_mode: int):
        self.gen, self.root = gen, root
        self.target, self.target_halo, self.target_mode = target, target_halo, target_mode
        order = root.walk()
        # Stored: what is read at other cells or channels; assemblies and reductions are loops of their own.
        self.stored: list[Node] = []
        for node in order:
            if node.op in ("reduce", "mix", "assemble") and node is not root:
                self._store(node)
            if node.op == "neighbour":
                self._store(node.args[0], node.attrs)
            if node.op == "mix":
                self._store(node.args[1])
        if root.op in ("reduce", "mix", "assemble"):
            self._store(root)
        self.stored.sort(key=lambda n: order.index(n))

    def _store(self, node: Node, neighbour: tuple | None = None) -> None:
        buf = self.gen.buffer(node)
        if node not in self.stored and node.op != "input":
            self.stored.append(node)
        if neighbour is not None:
            dy, dx, boundary = neighbour
            if node.shape[1] == 1 or node.shape[2] == 1:
                raise TraceError("a neighbour of an array broadcast along the grid is not supported")
            mode = MODES[boundary]
            if buf.mode not in (-1, mode):
                raise TraceError("one array is read through two different boundaries")
            buf.mode = mode
            buf.halo = max(buf.halo, abs(dy), abs(dx))

    # -- values
    def value(self, node: Node, c: str, y: str, x: str, scope: _Scope) -> str:
        c = c if node.shape[0] > 1 else "0"
        y = y if node.shape[1] > 1 else "0"
        x = x if node.shape[2] > 1 else "0"
        gen = self.gen
        if node.op == "input" or node in self.stored:
            return gen.read(gen.buffer(node), c, y, x)
        if node.op in ("const", "scalar", "full"):
            return self._direct(node, c, y, x)
        key = (id(node), c, y, x)
        found = scope.find(key)
        if found is not None:
            return found
        expr = self._expression(node, c, y, x, scope)
        var = gen.variable()
        scope.emit(f"{var} = {expr}")
        scope.memo[key] = var
        return var

    def _direct(self, node: Node, c: str, y: str, x: str) -> str:
        """A constant's value: a fixed array read at the cell, or a number from ``SC``."""
        if node.op == "const":
            return f"{self.gen.const(node)}[{c}, {y}, {x}]"
        return self.gen.scalar(node.value, node.dtype)

    def _expression(self, node: Node, c: str, y: str, x: str, scope: _Scope) -> str:
        """``node``'s value at the cell, rounded to its dtype as NumPy rounds each operation."""
        expr = self._operation(node, c, y, x, scope)
        return expr if node.dtype == np.dtype(bool) or node.op in ("neighbour", "select") else \
            f"{_type(node.dtype)}({expr})"

    def _operation(self, node: Node, c: str, y: str, x: str, scope: _Scope) -> str:
        if node.op in ("const", "scalar", "full"):
            return self._direct(node, c, y, x)
        args = node.args
        if node.op == "cast":
            return _cast(self.value(args[0], c, y, x, scope), args[0].dtype, node.dtype)
        if node.op == "neighbour":
            dy, dx, _ = node.attrs
            return self.gen.read(self.gen.buffer(args[0]), c if args[0].shape[0] > 1 else "0", f"{y} + {dy}",
                                 f"{x} + {dx}")
        if node.op == "select":
            (chans,) = node.attrs
            src = self.gen.channel_map(chans, c) if args[0].shape[0] > 1 else "0"
            return self.value(args[0], src, y, x, scope)
        if node.op == "unary":
            (name,) = node.attrs
            a = _cast(self.value(args[0], c, y, x, scope), args[0].dtype, node.dtype if name != "logical_not"
                      else np.dtype(bool))
            if name == "sign":
                z = f"{_type(node.dtype)}(0)"
                return f"({z} if {a} == {z} else ({_type(node.dtype)}(1) if {a} > {z} else " \
                       f"({_type(node.dtype)}(-1) if {a} < {z} else {a})))"
            return _UNARY[name].format(a)
        if node.op == "where":
            cond = self.value(args[0], c, y, x, scope)
            a = _cast(self.value(args[1], c, y, x, scope), args[1].dtype, node.dtype)
            b = _cast(self.value(args[2], c, y, x, scope), args[2].dtype, node.dtype)
            return f"({a} if {cond} else {b})"
        if node.op == "binary":
            (name,) = node.attrs
            a_node, b_node = args
            if name == "power" and b_node.op == "scalar" and b_node.value in (2, 2.0):
                a = _cast(self.value(a_node, c, y, x, scope), a_node.dtype, node.dtype)
                return f"({a} * {a})"  # NumPy squares for an exponent of 2
            if name in ("less", "less_equal", "greater", "greater_equal", "equal", "not_equal"):
                common = np.result_type(*(n.value if n.weak else n.dtype for n in args))
            elif name.startswith("logical_"):
                common = np.dtype(bool)
            else:
                common = node.dtype
            a = _cast(self.value(a_node, c, y, x, scope), a_node.dtype, common)
            b = _cast(self.value(b_node, c, y, x, scope), b_node.dtype, common)
            if name in _INFIX:
                return f"({a} {_INFIX[name]} {b})"
            if name == "power":
                return f"({a} ** {b})"
            if name == "maximum":  # NumPy's: a NaN on either side wins
                return f"({a} if ({a} >= {b} or {a} != {a}) else {b})"
            if name == "minimum":
                return f"({a} if ({a} <= {b} or {a} != {a}) else {b})"
            if name == "logical_and":
                return f"({a} and {b})"
            if name == "logical_or":
                return f"({a} or {b})"
            if name == "logical_xor":
                return f"({a} != {b})"
        raise TraceError(f"operation {node.op} {node.attrs} cannot be compiled")

    # -- loops
    def code(self, scope: _Scope) -> None:
        for node in self.stored:
            self._stage(node, scope)
            buf = self.gen.buffer(node)
            if buf.halo:
                self._halo(buf.name, node.shape[0], buf.halo, buf.mode, scope)
        c, h, w = self.root.shape
        body = self._loops(scope, c, h, w)
        v = _cast(self.value(self.root, "c", "y", "x", body), self.root.dtype, self.gen.graph.dtype)
        r = self.target_halo
        body.emit(f"{self.target}[c, y + {r}, x + {r}] = {v}")
        if r:
            self._halo(self.target, c, r, self.target_mode, scope)

    def _loops(self, scope: _Scope, c: int, h: int, w: int, names=("c", "y", "x")) -> _Scope:
        for depth, (name, n) in enumerate(zip(names, (c, h, w))):
            scope.lines.append("    " * (scope.indent + depth) + f"for {name} in range({n}):")
        return _Scope(scope.lines, scope.indent + 3, scope)

    def _halo(self, name: str, channels: int, r: int, mode: int, scope: _Scope) -> None:
        scope.emit(f"for c in range({channels}):")
        scope.emit(f"    fill_halo_r({name}[c], {r}, {mode})")

    def _stage(self, node: Node, scope: _Scope) -> None:
        gen, buf = self.gen, self.gen.buffer(node)
        c, h, w = node.shape
        if node.op == "reduce":
            (how,) = node.attrs
            (arg,) = node.args
            body = self._loops(scope, 1, h, w)
            acc = gen.variable()
            body.emit(f"{acc} = {self.value(arg, '0', 'y', 'x', body)}")
            body.emit(f"for cc in range(1, {arg.shape[0]}):")
            inner = _Scope(body.lines, body.indent + 1, body)
            inner.emit(f"{acc} = {acc} + {self.value(arg, 'cc', 'y', 'x', inner)}")
            if how == "mean":
                body.emit(f"{acc} = {acc} / {_type(node.dtype)}({arg.shape[0]})")
            body.emit(f"{gen.read(buf, '0', 'y', 'x')} = {acc}")
            return
        if node.op == "mix":
            matrix, arg = node.args
            body = self._loops(scope, c, h, w)
            acc = gen.variable()
            m = gen.const(matrix)
            first = _cast(f"{m}[c, 0, 0]", matrix.dtype, node.dtype)
            body.emit(f"{acc} = {first} * {_cast(self.value(arg, '0', 'y', 'x', body), arg.dtype, node.dtype)}")
            body.emit(f"for cc in range(1, {arg.shape[0]}):")
            inner = _Scope(body.lines, body.indent + 1, body)
            term = _cast(self.value(arg, "cc", "y", "x", inner), arg.dtype, node.dtype)
            inner.emit(f"{acc} = {acc} + {_cast(f'{m}[c, cc, 0]', matrix.dtype, node.dtype)} * {term}")
            body.emit(f"{gen.read(buf, 'c', 'y', 'x')} = {acc}")
            return
        if node.op == "assemble":
            base, value = node.args
            (box,) = node.attrs
            body = self._loops(scope, c, h, w)
            first = _cast(self.value(base, "c", "y", "x", body), base.dtype, node.dtype)
            body.emit(f"{gen.read(buf, 'c', 'y', 'x')} = {first}")
            chans, (y0, y1), (x0, x1) = box
            if not chans or y1 <= y0 or x1 <= x0:
                return
            scope.emit(f"for k in range({len(chans)}):")
            scope.emit(f"    for y in range({y0}, {y1}):")
            scope.emit(f"        for x in range({x0}, {x1}):")
            part = _Scope(scope.lines, scope.indent + 3, scope)
            v = _cast(self.value(value, "k", f"(y - {y0})", f"(x - {x0})", part), value.dtype, node.dtype)
            part.emit(f"{gen.read(buf, gen.channel_map(chans, 'k'), 'y', 'x')} = {v}")
            return
        body = self._loops(scope, c, h, w)
        body.emit(f"{gen.read(buf, 'c', 'y', 'x')} = {self._expression(node, 'c', 'y', 'x', body)}")


class _Generator:
    """The source of one kernel: buffers, constants and scalars shared by the init and step programs."""

    def __init__(self, graph: RuleGraph):
        self.graph = graph
        self.buffers: dict[int, _Buffer] = {}
        self.consts: list[np.ndarray] = []
        self.const_names: dict[int, str] = {}
        self.scalars: list[float] = []
        self.scalar_lines: list[str] = []
        self.channel_maps: dict[tuple, str] = {}
        self.count = 0

    def variable(self) -> str:
        self.count += 1
        return f"v{self.count}"

    def input_buffer(self, name: str) -> _Buffer | None:
        return next((b for b in self.buffers.values() if b.node.op == "input" and b.node.attrs[0] == name), None)

    def buffer(self, node: Node) -> _Buffer:
        if id(node) not in self.buffers:
            name = {"state": "S", "drive": "D"}[node.attrs[0]] if node.op == "input" else f"B{len(self.buffers)}"
            self.buffers[id(node)] = _Buffer(name, node)
        return self.buffers[id(node)]

    def read(self, buf: _Buffer, c: str, y: str, x: str) -> str:
        r = buf.halo if buf.mode != -1 else 0
        return f"{buf.name}[{c}, {y} + {r}, {x} + {r}]" if r else f"{buf.name}[{c}, {y}, {x}]"

    def const(self, node: Node) -> str:
        if id(node) not in self.const_names:
            self.const_names[id(node)] = f"K{len(self.consts)}"
            self.consts.append(node.value)
        return self.const_names[id(node)]

    def scalar(self, value, dtype: np.dtype) -> str:
        """A name for ``value`` in ``dtype``, read from ``SC`` once, before the loops (loop-invariant)."""
        k = len(self.scalars)
        self.scalars.append(float(value))
        self.scalar_lines.append(f"    s{k} = {_cast(f'SC[{k}]', np.dtype(np.float64), dtype)}")
        return f"s{k}"

    def channel_map(self, chans: tuple, index: str) -> str:
        if len(chans) == 1:
            return str(chans[0])
        step = chans[1] - chans[0]
        if all(b - a == step for a, b in zip(chans, chans[1:])):
            return f"({chans[0]} + {step} * {index})" if step != 1 else f"({chans[0]} + {index})"
        if chans not in self.channel_maps:
            self.channel_maps[chans] = f"K{len(self.consts)}"
            self.consts.append(np.asarray(chans, dtype=np.int64))
        return f"{self.channel_maps[chans]}[{index}]"


def generate_source(graph: RuleGraph) -> tuple[str, list[np.ndarray], np.ndarray]:
    """The numba source of ``graph``'s kernel, its constant arrays and its scalars.

    The function it defines, ``evolve(drive, out, record, codes, pools,
    offsets, block, SC, K0, K1, ...)``, evolves each sample of ``drive``
    through the steps of ``record`` and writes the recorded, pooled states
    into ``out`` (the built-in kernels' layout). Parameters of the rule are
    read from ``SC`` and fixed arrays from ``K*``, so a rule compiled once
    serves every value of its parameters and weights.

    Raises
    ------
    TraceError
        A graph the generator cannot write (a neighbour of a broadcast array,
        one array read through two boundaries).
    """
    gen = _Generator(graph)
    c, h, w = graph.init.shape
    # The step first: it decides the state's halo (the neighbours it reads), which the init fills too.
    step = _Program(gen, graph.step, "T", 0, -1)
    state_in = gen.input_buffer("state")
    r, mode = (state_in.halo, state_in.mode) if state_in is not None and state_in.mode != -1 else (0, -1)
    step.target_halo, step.target_mode = r, mode
    init = _Program(gen, graph.init, "S", r, mode)
    drive_in = gen.input_buffer("drive")
    dr = drive_in.halo if drive_in is not None and drive_in.mode != -1 else 0

    init_lines: list[str] = []
    init.code(_Scope(init_lines, 3))
    step_lines: list[str] = []
    step.code(_Scope(step_lines, 5))

    dtype = _type(graph.dtype)
    consts = ", ".join(f"K{i}" for i in range(len(gen.consts)))
    alloc = []
    for buf in gen.buffers.values():
        if buf.node.op == "input":
            continue
        bc, bh, bw = buf.node.shape
        pad = buf.halo if buf.mode != -1 else 0
        alloc.append(f"        {buf.name} = np.zeros(({bc}, {bh + 2 * pad}, {bw + 2 * pad}), "
                     f"dtype={_type(buf.node.dtype)})")
    src = [
        "def evolve(drive, out, record, codes, pools, offsets, block, SC" + (f", {consts}" if consts else "") + "):",
        "    n, cin = drive.shape[0], drive.shape[1]",
        *gen.scalar_lines,
        "    for b in prange((n + block - 1) // block):",
        f"        S = np.zeros(({c}, {h + 2 * r}, {w + 2 * r}), dtype={dtype})",
        f"        T = np.zeros(({c}, {h + 2 * r}, {w + 2 * r}), dtype={dtype})",
        f"        D = np.zeros((cin, {h + 2 * dr}, {w + 2 * dr}), dtype={dtype})",
        *alloc,
        "        for i in range(b * block, min(n, (b + 1) * block)):",
        "            for c in range(cin):",
        "                for y in range(%d):" % h,
        "                    for x in range(%d):" % w,
        f"                        D[c, y + {dr}, x + {dr}] = drive[i, c, y, x]",
    ]
    if dr:
        src += ["            for c in range(cin):", f"                fill_halo_r(D[c], {dr}, {drive_in.mode})"]
    src += init_lines
    src += [
        "            slot = 0",
        "            for t in range(record.shape[0]):",
        "                if t > 0:",
        *step_lines,
        "                    S, T = T, S",
        "                if record[t]:",
        "                    base = slot * offsets[-1]",
        f"                    for c in range({c}):",
        f"                        write_maps(S[c, {r}:{r + h}, {r}:{r + w}], out[i], base, c, codes, pools, offsets)",
        "                    slot += 1",
    ]
    return "\n".join(src) + "\n", gen.consts, np.asarray(gen.scalars, dtype=np.float64)


# ---------------------------------------------------------------- compiling and running

_COMPILED: dict[str, object] = {}
_LOCK = threading.Lock()


def _compile(source: str):
    """The numba function of ``source`` (compiled once per source in a process)."""
    with _LOCK:
        fn = _COMPILED.get(source)
        if fn is None:
            namespace = {"np": np, "prange": prange, "write_maps": write_maps, "fill_halo_r": fill_halo_r}
            exec(compile(source, "<pixelflow compiled rule>", "exec"), namespace)  # noqa: S102 - our own generated code
            fn = njit(parallel=True, error_model="numpy")(namespace["evolve"])
            _COMPILED[source] = fn
    return fn


class CompiledRule:
    """A fused kernel generated from a traced rule: ``run(drive, ctx, recording, out)`` like the built-ins.

    Attributes
    ----------
    graph : RuleGraph
    source : str
        The generated numba source (for reading; the tests compile it).
    """

    def __init__(self, graph: RuleGraph):
        self.graph = graph
        self.source, self.consts, self.scalars = generate_source(graph)
        self.function = _compile(self.source)

    def __call__(self, drive, ctx, recording, out) -> None:
        grid = ctx.grid
        drive = np.ascontiguousarray(drive, dtype=self.graph.dtype)
        self.function(drive, out, *layout(recording, grid.channels, grid.height, grid.width), block_size(len(drive)),
                      self.scalars, *self.consts)


def compile_rule(rule, params, weights: Mapping, grid, dtype, recording, reference=None):
    """A compiled kernel for ``rule``, checked against the rule function; or None and why not.

    Parameters
    ----------
    rule : Rule
    params : Params
    weights : mapping of str to numpy.ndarray
        The rule's fixed weights in ``dtype``.
    grid : Grid
    dtype : numpy.dtype
    recording : Recording
    reference : callable, optional
        ``reference(drive) -> features`` computed by the rule function, for
        the probe check (skipped when None).

    Returns
    -------
    (CompiledRule or None, str)
        The kernel, or None; and a sentence saying which path runs and why.
    """
    if not recording.pointwise:
        return None, "the rule function runs: compiled kernels record per-channel feature maps only"
    try:
        kernel = CompiledRule(trace_rule(rule, params, weights, grid, dtype))
    except TraceError as e:
        return None, f"the rule function runs: {e}"
    from pixelflow.rules.registry import StepContext

    # The probe batch also compiles the kernel (numba compiles on the first call).
    drive = np.random.default_rng(0).random((PROBE_SAMPLES, grid.input_channels, grid.height, grid.width))
    drive = drive.astype(dtype)
    got = np.empty((PROBE_SAMPLES, recording.n_features(grid.channels, grid.height, grid.width)), np.float32)
    try:
        kernel(drive, StepContext(xp=np, params=params, weights=weights, drive=drive, grid=grid), recording, got)
    except NumbaError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        return None, f"the rule function runs: its generated kernel did not compile ({first})"
    if reference is None:
        return kernel, "compiled from the rule function (not checked against it)"
    want = reference(drive)
    finite = np.isfinite(want)
    if not np.array_equal(finite, np.isfinite(got)):
        return None, "the rule function runs: the compiled kernel's features are not finite where the rule's are"
    gap = float(np.max(np.abs(got[finite] - want[finite]) / np.maximum(1.0, np.abs(want[finite])), initial=0.0))
    if gap > PROBE_TOLERANCE:
        return None, (f"the rule function runs: the compiled kernel differed from it by {gap:.2g} (relative) on a "
                      f"probe batch, more than {PROBE_TOLERANCE:g}")
    return kernel, f"compiled from the rule function (largest relative difference on a probe batch: {gap:.1g})"
