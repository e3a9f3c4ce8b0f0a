"""A rule's ``init`` and ``step`` as expression graphs, recorded by running them on symbolic arrays.

A rule is one Python function of the batched state written against ``xp``.
:func:`trace_rule` calls it once with ``xp`` replaced by :data:`TRACE_XP`, a
namespace whose arrays (:class:`TraceArray`) record every operation instead
of computing it. The result, a :class:`RuleGraph`, says what one sample's
update computes cell by cell: element-wise arithmetic, neighbours read
through a boundary, channel selections and writes, channel sums and channel
mixing. A backend may compile it (:mod:`pixelflow.backends.cpu.compiled`
turns it into one fused numba kernel per rule); the rule function stays the
reference, and the compiled kernel is checked against it.

Tracing only records what NumPy would do, with NumPy's own type promotion;
what it cannot represent faithfully it refuses with :class:`TraceError`
naming the operation, and the rule then runs as written. Refused are
decisions on array values (``if state.max() > 1``), conversions to NumPy
arrays, operations that mix samples (a sum over the batch axis), writes
through views, and functions outside the supported set (:data:`FUNCTIONS`).

Examples
--------
>>> import numpy as np
>>> from pixelflow import Param, stencils
>>> from pixelflow.rules.registry import Grid, Rule
>>> heat = Rule("heat", lambda s, ctx: s + 0.1 * stencils.laplacian(s, "periodic", ctx.xp))
>>> graph = trace_rule(heat, heat.resolve({}), {}, Grid(2, 8, 8, 1), np.dtype("float32"))
>>> graph.step.dtype, graph.step.shape, sorted({n.op for n in graph.step.walk()})
(dtype('float32'), (2, 8, 8), ['binary', 'input', 'neighbour', 'scalar'])
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["FUNCTIONS", "TRACE_XP", "Node", "RuleGraph", "TraceArray", "TraceError", "trace_rule"]

#: The batch size the traced arrays report (``state.shape[0]``): any size is
#: traced the same way, since each sample's update is recorded on its own.
TRACE_N = 1031


class TraceError(Exception):
    """The rule does something the tracer cannot record faithfully; the message says what."""


@dataclass(eq=False)
class Node:
    """One operation of a traced rule, on one sample: a value per ``(channel, y, x)``.

    Attributes
    ----------
    op : str
        ``"input"`` (``attrs[0]`` is ``"state"`` or ``"drive"``), ``"const"``
        (an array, ``value``), ``"scalar"`` (a number, ``value``), ``"full"``
        (``value`` everywhere), ``"unary"``/``"binary"`` (``attrs[0]`` names
        the function), ``"where"``, ``"cast"``, ``"neighbour"`` (``attrs`` =
        ``(dy, dx, boundary)``), ``"select"`` (``attrs[0]``: the channels
        read), ``"assemble"`` (``args[0]`` overwritten by ``args[1:]`` in the
        boxes ``attrs``), ``"reduce"`` (``attrs[0]``: ``"sum"`` or ``"mean"``
        over channels) or ``"mix"`` (``args``: a ``(out, in)`` matrix and the
        channels it mixes).
    args : tuple of Node
    shape : tuple of int
        ``(channels, height, width)``; 1 where the value is broadcast.
    dtype : numpy.dtype
    attrs : tuple
    value : scalar or numpy.ndarray or None
    weak : bool
        A Python number: NumPy lets the array's dtype decide (NEP 50).
    """

    op: str
    args: tuple = ()
    shape: tuple = (1, 1, 1)
    dtype: np.dtype = field(default_factory=lambda: np.dtype("float32"))
    attrs: tuple = ()
    value: Any = None
    weak: bool = False

    def walk(self):
        """Every node this one depends on, itself included, each once, inputs first."""
        seen, order = set(), []
        stack = [(self, False)]
        while stack:  # iterative: deep chains of updates would overflow recursion
            node, done = stack.pop()
            if done:
                if id(node) not in seen:
                    seen.add(id(node))
                    order.append(node)
                continue
            if id(node) in seen:
                continue
            stack.append((node, True))
            stack.extend((a, False) for a in reversed(node.args) if id(a) not in seen)
        return order


@dataclass(frozen=True)
class RuleGraph:
    """A traced rule: the initial state from the drive, and one update of the state.

    Attributes
    ----------
    init : Node
        The initial state, ``(channels, height, width)``, from the input nodes ``drive``.
    step : Node
        The next state from the inputs ``state`` (and ``drive``, for rules that re-inject it).
    dtype : numpy.dtype
        The state's dtype (each update is cast to it, as the engine casts it).
    """

    init: Node
    step: Node
    dtype: np.dtype


# ---------------------------------------------------------------- broadcasting and promotion


def _scalar_node(value) -> Node:
    if isinstance(value, (bool, np.bool_)):
        return Node("scalar", dtype=np.dtype(bool), value=bool(value), weak=isinstance(value, bool))
    if isinstance(value, np.generic):
        return Node("scalar", dtype=value.dtype, value=value.item())
    if isinstance(value, numbers.Integral):
        return Node("scalar", dtype=np.dtype(np.int64), value=int(value), weak=True)
    if isinstance(value, numbers.Real):
        return Node("scalar", dtype=np.dtype(np.float64), value=float(value), weak=True)
    raise TraceError(f"cannot use {value!r} ({type(value).__name__}) in a traced rule: a number or an array is needed")


def _promote(*nodes: Node) -> np.dtype:
    """NumPy's result dtype of ``nodes``, Python numbers weak as NumPy 2 treats them."""
    return np.result_type(*(n.value if n.weak else n.dtype for n in nodes))


def _broadcast(*shapes: tuple) -> tuple:
    out = []
    for dims in zip(*shapes):
        sizes = {d for d in dims if d != 1}
        if len(sizes) > 1:
            raise TraceError(f"shapes {' and '.join(map(str, shapes))} do not broadcast")
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


class TraceArray:
    """A symbolic array of a traced rule: ``(N, C, H, W)``, or ``(N, H, W)`` for one channel read as ``x[:, k]``.

    Operations record :class:`Node` objects; reading its values (``bool``,
    ``float``, ``np.asarray``) raises :class:`TraceError`.
    """

    __array_priority__ = 1000

    def __init__(self, node: Node, squeezed: bool = False, base: TraceArray | None = None):
        self.node = node
        self.squeezed = squeezed
        self.base = base  # set for views (channel selections), which may not be written
        self.viewed = False

    # -- what a rule may read about it
    @property
    def shape(self) -> tuple:
        c, h, w = self.node.shape
        return (TRACE_N, h, w) if self.squeezed else (TRACE_N, c, h, w)

    @property
    def ndim(self) -> int:
        return 3 if self.squeezed else 4

    @property
    def dtype(self) -> np.dtype:
        return self.node.dtype

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def __len__(self) -> int:
        return TRACE_N

    def __repr__(self) -> str:
        return f"TraceArray(shape={self.shape}, dtype={self.dtype}, op={self.node.op!r})"

    # -- what it cannot do
    def __bool__(self):
        raise TraceError("the rule decides on array values (if/while on an array); a compiled kernel cannot")

    def __float__(self):
        raise TraceError("the rule converts an array to a Python number")

    __int__ = __index__ = __float__

    def __iter__(self):
        raise TraceError("the rule iterates over an array's samples")

    def __array__(self, *args, **kwargs):
        raise TraceError("the rule converts the state to a NumPy array (np.asarray, np.array or a NumPy function "
                         "that the rule compiler does not know)")

    def tolist(self):
        raise TraceError("the rule converts an array to a list")

    # -- arithmetic
    def _binary(self, other, name, reflected=False):
        a, b = (_operand(other, self), self) if reflected else (self, _operand(other, self))
        return _apply_binary(name, a, b)

    def __add__(self, o): return self._binary(o, "add")
    def __radd__(self, o): return self._binary(o, "add", True)
    def __sub__(self, o): return self._binary(o, "subtract")
    def __rsub__(self, o): return self._binary(o, "subtract", True)
    def __mul__(self, o): return self._binary(o, "multiply")
    def __rmul__(self, o): return self._binary(o, "multiply", True)
    def __truediv__(self, o): return self._binary(o, "divide")
    def __rtruediv__(self, o): return self._binary(o, "divide", True)
    def __pow__(self, o): return self._binary(o, "power")
    def __rpow__(self, o): return self._binary(o, "power", True)
    def __lt__(self, o): return self._binary(o, "less")
    def __le__(self, o): return self._binary(o, "less_equal")
    def __gt__(self, o): return self._binary(o, "greater")
    def __ge__(self, o): return self._binary(o, "greater_equal")
    def __eq__(self, o): return self._binary(o, "equal")  # type: ignore[override]
    def __ne__(self, o): return self._binary(o, "not_equal")  # type: ignore[override]
    def __and__(self, o): return self._binary(o, "logical_and")
    def __rand__(self, o): return self._binary(o, "logical_and", True)
    def __or__(self, o): return self._binary(o, "logical_or")
    def __ror__(self, o): return self._binary(o, "logical_or", True)
    def __xor__(self, o): return self._binary(o, "logical_xor")

    def __neg__(self): return _unary("negative", self)
    def __pos__(self): return self
    def __abs__(self): return _unary("absolute", self)

    def __invert__(self):
        if self.dtype != np.dtype(bool):
            raise TraceError("~ on a non-boolean array (bitwise not) is not supported by the rule compiler")
        return _unary("logical_not", self)

    __hash__ = None  # type: ignore[assignment]

    # -- methods NumPy arrays have
    def astype(self, dtype, copy=True, **kwargs):
        return _cast(self, np.dtype(dtype))

    def copy(self, *args, **kwargs):
        return TraceArray(self.node, self.squeezed)

    def sum(self, axis=None, keepdims=False, dtype=None, **kwargs):
        return _reduce(self, "sum", axis, keepdims, dtype)

    def mean(self, axis=None, keepdims=False, dtype=None, **kwargs):
        return _reduce(self, "mean", axis, keepdims, dtype)

    def clip(self, lo=None, hi=None, **kwargs):
        return _clip(self, lo, hi)

    def _whole_batch(self, name):
        raise TraceError(f"array.{name}() reads values across the batch: the rule decides on array values or "
                         "mixes samples, which a compiled kernel cannot")

    def max(self, *args, **kwargs): self._whole_batch("max")
    def min(self, *args, **kwargs): self._whole_batch("min")
    def any(self, *args, **kwargs): self._whole_batch("any")
    def all(self, *args, **kwargs): self._whole_batch("all")

    def __getattr__(self, name):
        if name.startswith("__"):  # protocols NumPy probes for (__array_interface__, ...): not offered
            raise AttributeError(name)
        raise TraceError(f"array.{name} is not supported by the rule compiler")

    def __matmul__(self, other):
        raise TraceError("matrix products (@) are not supported by the rule compiler; mix channels with "
                         "xp.einsum('oc,nchw->nohw', weights, state)")

    __rmatmul__ = __matmul__

    # -- indexing: channels only (spatial neighbours come from stencils or xp.roll)
    def __getitem__(self, key):
        chans, squeeze = _channel_key(self, key)
        node = self.node if chans == tuple(range(self.node.shape[0])) and not squeeze else Node(
            "select", (self.node,), (len(chans), *self.node.shape[1:]), self.node.dtype, (chans,))
        self.viewed = True
        return TraceArray(node, squeezed=squeeze, base=self)

    def __setitem__(self, key, value):
        if self.base is not None:
            raise TraceError("the rule writes into a view of another array (a slice of it); write into the array "
                             "itself, e.g. out[:, 0:2] = ...")
        if self.viewed:
            raise TraceError("the rule writes into an array after taking a view of it (the view would change too)")
        if self.squeezed:
            raise TraceError("writing into a single channel read as x[:, k] is not supported; write x[:, k] = ...")
        box = _write_box(self, key)
        value = _operand(value, self)
        c, h, w = self.node.shape
        want = (len(box[0]), box[1][1] - box[1][0], box[2][1] - box[2][0])
        if _broadcast(value.node.shape, want) != want:
            raise TraceError(f"cannot write a value of shape {value.shape} into {want}")
        if value.squeezed and len(box[0]) != 1:
            raise TraceError("a single channel (x[:, k]) can be written into one channel only")
        self.node = Node("assemble", (self.node, _cast_node(value.node, self.node.dtype)), self.node.shape,
                         self.node.dtype, (box,))

    # -- NumPy functions called on traced arrays
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__" or kwargs.get("out") is not None:
            raise TraceError(f"np.{ufunc.__name__}.{method} is not supported by the rule compiler")
        fn = getattr(TRACE_XP, ufunc.__name__, None)
        if fn is None:
            raise TraceError(f"np.{ufunc.__name__} is not supported by the rule compiler")
        return fn(*inputs)

    def __array_function__(self, func, types, args, kwargs):
        fn = getattr(TRACE_XP, func.__name__, None)
        if fn is None or func.__name__ in ("pad1", "asarray"):
            raise TraceError(f"np.{func.__name__} is not supported by the rule compiler")
        return fn(*args, **kwargs)


class TracePadded:
    """What :func:`pixelflow.stencils.pad1` returns while tracing: a grid with a one-cell border.

    Its only use is to be sliced by :func:`pixelflow.stencils.window`, which
    reads a neighbour of every cell.
    """

    def __init__(self, array: TraceArray, boundary: str):
        self.array, self.boundary = array, boundary

    @property
    def shape(self):
        h, w = self.array.shape[-2:]
        return (*self.array.shape[:-2], h + 2, w + 2)

    def __getitem__(self, key):
        if not isinstance(key, tuple) or len(key) != 3 or key[0] is not Ellipsis:
            raise TraceError("a padded grid is read only as padded[..., rows, columns] (stencils.window)")
        h, w = self.array.node.shape[1:]
        offsets = []
        for s, n in zip(key[1:], (h, w)):
            if not isinstance(s, slice) or s.step not in (None, 1):
                raise TraceError("a padded grid is read only through slices of the grid's size")
            start, stop, _ = s.indices(n + 2)
            if stop - start != n:
                raise TraceError("a padded grid is read only through slices of the grid's size")
            offsets.append(start - 1)
        return _neighbour(self.array, offsets[0], offsets[1], self.boundary)


def _operand(value, like: TraceArray) -> TraceArray:
    """``value`` as a traced array beside ``like``: arrays become constants, numbers scalars."""
    if isinstance(value, TraceArray):
        return value
    if isinstance(value, TracePadded):
        raise TraceError("a padded grid is used as an array; read its cells with stencils.window")
    if isinstance(value, np.ndarray) and value.ndim > 0:
        return TraceArray(_const_node(value, like.squeezed), squeezed=like.squeezed)
    if isinstance(value, np.ndarray):
        value = value[()]
    return TraceArray(_scalar_node(value), squeezed=like.squeezed)


def _const_node(value: np.ndarray, squeezed: bool) -> Node:
    """A fixed array (a rule's weight) as seen by one sample: right-aligned to (N, C, H, W) or (N, H, W)."""
    ndim = 3 if squeezed else 4
    if value.ndim > ndim:
        raise TraceError(f"a fixed array of shape {value.shape} has more axes than the state")
    full = (1,) * (ndim - value.ndim) + value.shape
    if full[0] != 1:
        raise TraceError(f"a fixed array of shape {value.shape} has an axis along the batch: each sample's update "
                         "must not depend on the others")
    shape = (1, *full[1:]) if squeezed else full[1:]
    if value.dtype.kind not in "biuf":
        raise TraceError(f"a fixed array of dtype {value.dtype} is not supported (numbers only)")
    return Node("const", shape=shape, dtype=value.dtype, value=np.ascontiguousarray(value.reshape(shape)))


def _check_rank(*arrays: TraceArray) -> bool:
    """Whether the operands are single channels read as ``x[:, k]``; refuses a mix of those and 4-axis arrays.

    Constants and numbers take the rank of the array beside them (:func:`_operand`), so they never disagree.
    """
    if len({a.squeezed for a in arrays if a.node.op not in ("scalar", "const")}) > 1:
        raise TraceError("the rule combines a single channel read as x[:, k] (3 axes) with a 4-axis array; "
                         "read it as x[:, k:k + 1] to keep the channel axis")
    return any(a.squeezed for a in arrays)


_BOOL_OPS = {"logical_and", "logical_or", "logical_xor", "logical_not"}
_COMPARISONS = {"less", "less_equal", "greater", "greater_equal", "equal", "not_equal"}


def _apply_binary(name: str, a: TraceArray, b: TraceArray) -> TraceArray:
    squeezed = _check_rank(a, b)
    shape = _broadcast(a.node.shape, b.node.shape)
    if name in _BOOL_OPS:
        dtype = np.dtype(bool)
        if a.dtype != dtype or b.dtype != dtype:
            raise TraceError(f"{name} of non-boolean arrays (bitwise operations) is not supported by the rule compiler")
    elif name in _COMPARISONS:
        dtype = np.dtype(bool)
    else:
        dtype = _promote(a.node, b.node)
        if dtype == np.dtype(bool):
            raise TraceError(f"{name} of two boolean arrays is not supported by the rule compiler; use & and |")
        if name == "divide" and dtype.kind in "iu":
            dtype = _promote(a.node, b.node, Node("scalar", value=1.0, weak=True))
    node = Node("binary", (a.node, b.node), shape, dtype, (name,))
    return TraceArray(node, squeezed)


_UNARY = ("exp", "log", "tanh", "sin", "cos", "sqrt", "absolute", "negative", "floor", "ceil", "sign", "square",
          "logical_not", "expm1", "log1p", "arctan", "sinh", "cosh")


def _unary(name: str, x) -> TraceArray:
    if not isinstance(x, TraceArray):  # a parameter or a fixed weight: NumPy computes it now
        return getattr(np, name)(x)
    dtype = x.dtype
    if name not in ("absolute", "negative", "sign", "square", "logical_not", "floor", "ceil") and dtype.kind in "biu":
        dtype = np.result_type(dtype, np.float16) if dtype.kind == "b" else np.dtype(np.float64)
    if name == "logical_not":
        dtype = np.dtype(bool)
    return TraceArray(Node("unary", (x.node,), x.node.shape, dtype, (name,)), x.squeezed)


def _cast_node(node: Node, dtype: np.dtype) -> Node:
    return node if node.dtype == dtype else Node("cast", (node,), node.shape, dtype)


def _cast(x: TraceArray, dtype: np.dtype) -> TraceArray:
    if dtype.kind not in "biuf":
        raise TraceError(f"astype({dtype}) is not supported by the rule compiler (numbers only)")
    return TraceArray(_cast_node(x.node, dtype), x.squeezed)


def _neighbour(x: TraceArray, dy: int, dx: int, boundary: str) -> TraceArray:
    if dy == 0 and dx == 0:
        return x
    c, h, w = x.node.shape
    if (dy and h == 1) or (dx and w == 1):
        raise TraceError("a neighbour of an array broadcast along the grid is not supported by the rule compiler")
    if boundary == "periodic":  # a wrap by more than half the grid is a shorter wrap the other way
        dy, dx = (dy + h // 2) % h - h // 2, (dx + w // 2) % w - w // 2
    elif abs(dy) >= h or abs(dx) >= w:
        raise TraceError(f"offset ({dy}, {dx}) is beyond a {h}x{w} grid")
    if dy == 0 and dx == 0:
        return x
    return TraceArray(Node("neighbour", (x.node,), x.node.shape, x.dtype, (dy, dx, boundary)), x.squeezed)


def _axes(axis, ndim: int) -> tuple:
    axes = axis if isinstance(axis, tuple) else (axis,)
    out = []
    for a in axes:
        if not isinstance(a, numbers.Integral) or not -ndim <= a < ndim:
            raise TraceError(f"axis {axis!r} is not an axis of a {ndim}-axis array")
        out.append(int(a) % ndim)
    return tuple(out)


def _reduce(x: TraceArray, how: str, axis, keepdims: bool, dtype) -> TraceArray:
    if axis is None or x.squeezed or _axes(axis, 4) != (1,):
        raise TraceError(f"{how} over axis {axis!r}: only sums and means over the channel axis (axis=1) are "
                         "supported; a sum over the batch axis would mix samples")
    if dtype is not None:
        x = _cast(x, np.dtype(dtype))
    out_dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float64 if how == "mean" else np.int64)
    if x.dtype.kind != "f":
        x = _cast(x, out_dtype)
    node = Node("reduce", (x.node,), (1, *x.node.shape[1:]), out_dtype, (how,))
    return TraceArray(node, squeezed=not keepdims)


def _clip(x, lo, hi) -> TraceArray:
    out = x
    if lo is not None:
        out = TRACE_XP.maximum(out, lo)
    if hi is not None:
        out = TRACE_XP.minimum(out, hi)
    return out


def _channel_key(x: TraceArray, key) -> tuple[tuple, bool]:
    """The channels ``x[key]`` reads and whether it drops the channel axis; spatial slicing is refused."""
    if x.squeezed:
        raise TraceError("indexing an array of one channel read as x[:, k] is not supported by the rule compiler")
    key = key if isinstance(key, tuple) else (key,)
    if Ellipsis in key:
        i = key.index(Ellipsis)
        key = key[:i] + (slice(None),) * (4 - len(key) + 1) + key[i + 1:]
    key = key + (slice(None),) * (4 - len(key))
    if len(key) != 4 or any(k != slice(None) for k in (key[0], key[2], key[3])):
        raise TraceError(f"indexing with {key!r}: only channels may be selected (x[:, k], x[:, a:b], "
                         "x[:, [i, j]]); neighbours come from stencils or xp.roll")
    return _channels(key[1], x.node.shape[0])


def _channels(k, c: int) -> tuple[tuple, bool]:
    if isinstance(k, slice):
        return tuple(range(c))[k], False
    if isinstance(k, numbers.Integral) and not isinstance(k, bool):
        if not -c <= k < c:
            raise TraceError(f"channel {k} of {c}")
        return (int(k) % c,), True
    if isinstance(k, (list, tuple, np.ndarray)) and all(isinstance(i, numbers.Integral) for i in np.ravel(k)):
        idx = [int(i) for i in np.ravel(k)]
        if any(not -c <= i < c for i in idx):
            raise TraceError(f"channels {idx} of {c}")
        return tuple(i % c for i in idx), False
    raise TraceError(f"channel index {k!r} is not supported (an int, a slice or a list of ints)")


def _write_box(x: TraceArray, key) -> tuple:
    """``(channels, (y0, y1), (x0, x1))`` written by ``x[key] = ...``."""
    key = key if isinstance(key, tuple) else (key,)
    if Ellipsis in key:
        i = key.index(Ellipsis)
        key = key[:i] + (slice(None),) * (4 - len(key) + 1) + key[i + 1:]
    key = key + (slice(None),) * (4 - len(key))
    c, h, w = x.node.shape
    if len(key) != 4 or key[0] != slice(None):
        raise TraceError(f"writing with index {key!r}: every sample must be written alike (x[:, ...] = ...)")
    chans, _ = _channels(key[1], c)
    spans = []
    for k, n in zip(key[2:], (h, w)):
        if isinstance(k, slice) and k.step in (None, 1):
            a, b, _ = k.indices(n)
            spans.append((a, max(a, b)))
        elif isinstance(k, numbers.Integral) and not isinstance(k, bool) and -n <= k < n:
            raise TraceError("writing a single row or column drops an axis; write x[:, :, i:i + 1] = ... instead")
        else:
            raise TraceError(f"writing with index {k!r} along the grid is not supported (a slice of step 1)")
    return (chans, *spans)


# ---------------------------------------------------------------- the namespace


def _full(shape, value, dtype) -> TraceArray:
    shape = tuple(shape) if isinstance(shape, (tuple, list)) else (shape,)
    if len(shape) not in (3, 4) or shape[0] != TRACE_N:
        raise TraceError(f"an array of shape {shape}: arrays made in a rule must be of the batch's shape, "
                         "(N, C, H, W) or (N, H, W) with N = state.shape[0]")
    dtype = np.dtype(dtype if dtype is not None else np.float64)
    squeezed = len(shape) == 3
    node_shape = (1, *shape[1:]) if squeezed else tuple(shape[1:])
    return TraceArray(Node("full", shape=node_shape, dtype=dtype, value=value), squeezed)


class _TraceNamespace:
    """The ``xp`` a rule sees while traced (see :data:`FUNCTIONS`)."""

    __name__ = "pixelflow.rules.trace"

    # element-wise
    def exp(self, x): return _unary("exp", x)
    def log(self, x): return _unary("log", x)
    def tanh(self, x): return _unary("tanh", x)
    def sin(self, x): return _unary("sin", x)
    def cos(self, x): return _unary("cos", x)
    def sqrt(self, x): return _unary("sqrt", x)
    def abs(self, x): return _unary("absolute", x)
    absolute = abs
    def negative(self, x): return _unary("negative", x)
    def floor(self, x): return _unary("floor", x)
    def ceil(self, x): return _unary("ceil", x)
    def sign(self, x): return _unary("sign", x)
    def square(self, x): return _unary("square", x)
    def expm1(self, x): return _unary("expm1", x)
    def log1p(self, x): return _unary("log1p", x)
    def arctan(self, x): return _unary("arctan", x)
    def sinh(self, x): return _unary("sinh", x)
    def cosh(self, x): return _unary("cosh", x)
    def logical_not(self, x): return _unary("logical_not", x)

    def _pair(self, a, b, name):
        like = a if isinstance(a, TraceArray) else b
        if not isinstance(like, TraceArray):
            return getattr(np, name)(a, b)
        return _apply_binary(name, _operand(a, like), _operand(b, like))

    def add(self, a, b): return self._pair(a, b, "add")
    def subtract(self, a, b): return self._pair(a, b, "subtract")
    def multiply(self, a, b): return self._pair(a, b, "multiply")
    def divide(self, a, b): return self._pair(a, b, "divide")
    true_divide = divide
    def power(self, a, b): return self._pair(a, b, "power")
    def maximum(self, a, b): return self._pair(a, b, "maximum")
    def minimum(self, a, b): return self._pair(a, b, "minimum")
    def less(self, a, b): return self._pair(a, b, "less")
    def less_equal(self, a, b): return self._pair(a, b, "less_equal")
    def greater(self, a, b): return self._pair(a, b, "greater")
    def greater_equal(self, a, b): return self._pair(a, b, "greater_equal")
    def equal(self, a, b): return self._pair(a, b, "equal")
    def not_equal(self, a, b): return self._pair(a, b, "not_equal")
    def logical_and(self, a, b): return self._pair(a, b, "logical_and")
    def logical_or(self, a, b): return self._pair(a, b, "logical_or")
    def logical_xor(self, a, b): return self._pair(a, b, "logical_xor")

    def clip(self, x, lo=None, hi=None, **kwargs):
        if not isinstance(x, TraceArray):
            raise TraceError("xp.clip of a value that is not the rule's array")
        return _clip(x, lo, hi)

    def where(self, cond, a, b):
        like = next((v for v in (cond, a, b) if isinstance(v, TraceArray)), None)
        if like is None:
            return np.where(cond, a, b)
        cond, a, b = (_operand(v, like) for v in (cond, a, b))
        if cond.dtype != np.dtype(bool):
            cond = TraceArray(Node("binary", (cond.node, Node("scalar", dtype=cond.dtype, value=0)),
                                   cond.node.shape, np.dtype(bool), ("not_equal",)), cond.squeezed)
        squeezed = _check_rank(cond, a, b)
        shape = _broadcast(cond.node.shape, a.node.shape, b.node.shape)
        dtype = _promote(a.node, b.node)
        return TraceArray(Node("where", (cond.node, a.node, b.node), shape, dtype), squeezed)

    # arrays made inside a rule
    def zeros(self, shape, dtype=None, **kwargs): return _full(shape, 0, dtype)
    def ones(self, shape, dtype=None, **kwargs): return _full(shape, 1, dtype)
    def empty(self, shape, dtype=None, **kwargs): return _full(shape, 0, dtype)

    def full(self, shape, fill_value, dtype=None, **kwargs):
        if isinstance(fill_value, TraceArray):
            raise TraceError("xp.full with an array as the fill value")
        return _full(shape, fill_value, dtype if dtype is not None else np.asarray(fill_value).dtype)

    def _like(self, x, value, dtype):
        if not isinstance(x, TraceArray):
            raise TraceError("*_like of a value that is not the rule's array")
        return _full(x.shape, value, dtype if dtype is not None else x.dtype)

    def zeros_like(self, x, dtype=None, **kwargs): return self._like(x, 0, dtype)
    def ones_like(self, x, dtype=None, **kwargs): return self._like(x, 1, dtype)
    def empty_like(self, x, dtype=None, **kwargs): return self._like(x, 0, dtype)

    def full_like(self, x, fill_value, dtype=None, **kwargs):
        return self._like(x, fill_value, dtype if dtype is not None else x.dtype)

    def copy(self, x): return x.copy()

    def asarray(self, x, dtype=None, **kwargs):
        if isinstance(x, TraceArray):
            return x if dtype is None else x.astype(dtype)
        return np.asarray(x, dtype=dtype)

    # neighbours and channels
    def pad1(self, x, boundary):
        """Used by :func:`pixelflow.stencils.pad1` in place of building the padded array."""
        return TracePadded(x, boundary)

    def roll(self, x, shift, axis=None):
        if not isinstance(x, TraceArray):
            return np.roll(x, shift, axis)
        if axis is None:
            raise TraceError("xp.roll without axis flattens the array; give the grid axes (axis=(-2, -1))")
        axes = _axes(axis, x.ndim)
        shifts = shift if isinstance(shift, tuple) else (shift,) * len(axes)
        if len(shifts) != len(axes):
            raise TraceError(f"xp.roll: {len(shifts)} shift(s) for {len(axes)} axes")
        dy = dx = 0
        for s, a in zip(shifts, axes):
            if a == x.ndim - 2:
                dy -= int(s)
            elif a == x.ndim - 1:
                dx -= int(s)
            elif a == 1 and not x.squeezed:
                c = x.node.shape[0]
                x = x[:, [(i - int(s)) % c for i in range(c)]]
            else:
                raise TraceError("xp.roll along the batch axis would mix samples")
        return _neighbour(x, dy, dx, "periodic")

    def _join(self, arrays, axis, stack: bool):
        arrays = list(arrays)
        if not arrays or not all(isinstance(a, TraceArray) for a in arrays):
            raise TraceError("xp.stack/concatenate of values that are not all traced arrays")
        if stack and all(a.squeezed for a in arrays) and _axes(axis, 4) == (1,):
            parts = arrays
        elif not stack and not any(a.squeezed for a in arrays) and _axes(axis, 4) == (1,):
            parts = arrays
        else:
            raise TraceError("xp.stack/concatenate only along the channel axis (axis=1)")
        hw = _broadcast(*(a.node.shape[1:] for a in parts))
        dtype = _promote(*(a.node for a in parts))
        widths = [a.node.shape[0] for a in parts]
        out = TraceArray(Node("full", shape=(sum(widths), *hw), dtype=dtype, value=0))
        start = 0
        for a, k in zip(parts, widths):
            box = (tuple(range(start, start + k)), (0, hw[0]), (0, hw[1]))
            out.node = Node("assemble", (out.node, _cast_node(a.node, dtype)), out.node.shape, dtype, (box,))
            start += k
        return out

    def stack(self, arrays, axis=0, **kwargs): return self._join(arrays, axis, True)
    def concatenate(self, arrays, axis=0, **kwargs): return self._join(arrays, axis, False)

    def sum(self, x, axis=None, keepdims=False, dtype=None, **kwargs):
        return _reduce(x, "sum", axis, keepdims, dtype)

    def mean(self, x, axis=None, keepdims=False, dtype=None, **kwargs):
        return _reduce(x, "mean", axis, keepdims, dtype)

    def einsum(self, spec, *operands, **kwargs):
        if len(operands) != 2 or not isinstance(spec, str) or "->" not in spec:
            raise TraceError("xp.einsum: only channel mixing of the state by a matrix, e.g. 'oc,nchw->nohw'")
        (s1, s2), out = spec.replace(" ", "").split("->")[0].split(","), spec.replace(" ", "").split("->")[1]
        weights, x = operands
        if isinstance(weights, TraceArray):
            (s1, weights), (s2, x) = (s2, x), (s1, weights)
        if not isinstance(x, TraceArray) or x.squeezed or not isinstance(weights, np.ndarray) or weights.ndim != 2 \
                or len(s1) != 2 or len(s2) != 4 or len(out) != 4:
            raise TraceError("xp.einsum: only channel mixing of the state by a fixed matrix, e.g. 'oc,nchw->nohw'")
        n, c, h, w = s2
        if out[0] != n or out[2:] != h + w or c not in s1 or out[1] not in s1 or out[1] == c:
            raise TraceError(f"xp.einsum({spec!r}): only channel mixing, e.g. 'oc,nchw->nohw'")
        matrix = weights if s1.index(out[1]) == 0 else weights.T
        if matrix.shape[1] != x.node.shape[0]:
            raise TraceError(f"xp.einsum({spec!r}): a {weights.shape} matrix for {x.node.shape[0]} channels")
        dtype = np.result_type(matrix.dtype, x.dtype)
        node = Node("mix", (_const_node(np.ascontiguousarray(matrix)[:, :, None], False), x.node),
                    (matrix.shape[0], *x.node.shape[1:]), dtype)
        return TraceArray(node)

    def __getattr__(self, name):
        if name.startswith("__"):  # protocols probed by introspection (__wrapped__, ...): not offered
            raise AttributeError(name)
        value = getattr(np, name, None)
        # dtypes and constants (xp.float32, xp.pi) are NumPy's; functions are supported or refused
        if isinstance(value, type) and issubclass(value, np.generic) or isinstance(value, (float, int, np.dtype)):
            return value
        raise TraceError(f"xp.{name} is not supported by the rule compiler")


#: The array namespace of a traced rule.
TRACE_XP = _TraceNamespace()

#: The ``xp`` functions (and NumPy functions on traced arrays) a compiled rule may call.
FUNCTIONS = tuple(sorted(n for n in dir(_TraceNamespace) if not n.startswith("_") and n != "pad1"))


# ---------------------------------------------------------------- tracing a rule


def _result(value, grid, dtype: np.dtype, hook: str) -> Node:
    if not isinstance(value, TraceArray) or value.squeezed:
        raise TraceError(f"the rule's {hook} did not return an array of the state's shape (N, C, H, W)")
    want = (grid.channels, grid.height, grid.width)
    if value.node.shape != want:
        if _broadcast(value.node.shape, want) != want:
            raise TraceError(f"the rule's {hook} returned shape {value.shape}, expected (N, *{want})")
        raise TraceError(f"the rule's {hook} returned an array broadcast to {value.node.shape}, expected {want}")
    return _cast_node(value.node, dtype)


def trace_rule(rule, params, weights: Mapping, grid, dtype) -> RuleGraph:
    """Record ``rule``'s ``init`` and ``step`` for one sample, as NumPy would compute them.

    Parameters
    ----------
    rule : Rule
    params : Params
        The rule's resolved parameters (read by the rule as Python values).
    weights : mapping
        The rule's fixed weights, NumPy arrays in the state's dtype.
    grid : Grid
    dtype : numpy.dtype
        The state's dtype.

    Returns
    -------
    RuleGraph

    Raises
    ------
    TraceError
        The rule does something a compiled kernel cannot reproduce; the message names it.
    """
    from pixelflow.rules.registry import StepContext, default_init

    dtype = np.dtype(dtype)
    drive = TraceArray(Node("input", shape=(grid.input_channels, grid.height, grid.width), dtype=dtype,
                            attrs=("drive",)))
    state = TraceArray(Node("input", shape=(grid.channels, grid.height, grid.width), dtype=dtype, attrs=("state",)))
    ctx = StepContext(xp=TRACE_XP, params=params, weights=dict(weights), drive=drive, grid=grid)
    try:
        init = _result((rule.init or default_init)(drive, ctx), grid, dtype, "init")
        step = _result(rule.step(state, ctx), grid, dtype, "step")
    except TraceError:
        raise
    except (TypeError, ValueError, AttributeError, IndexError, KeyError, NotImplementedError) as e:
        raise TraceError(f"the rule failed on traced arrays: {type(e).__name__}: {e}") from None
    return RuleGraph(init=init, step=step, dtype=dtype)

