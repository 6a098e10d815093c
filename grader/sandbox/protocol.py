"""The wire format between the grader and the child that runs student code.

A message is a frame: a 4-byte big-endian length, a JSON header of that length, an 8-byte big-endian
length, then that many bytes of raw array data. Arrays travel as raw bytes described in the header by a
numeric dtype from :data:`ALLOWED_DTYPES` and a shape; nothing is ever pickled or unzipped, and every
size is checked before anything is read, so a hostile child can at worst send a wrong answer.

Values are encoded as small JSON trees:

- ``{"a": i}``: the i-th array of the frame;
- ``{"v": x}``: a JSON scalar (bool, int, float, str, None);
- ``{"s": x, "dtype": str}``: a numpy scalar (np.float64(...), ...);
- ``{"y": str}``: a numpy scalar type (np.float32, np.float64, ...), e.g. a ``dtype`` argument;
- ``{"t": [...]}`` / ``{"l": [...]}``: a tuple / list;
- ``{"d": {key: value}}``: a dict with string keys;
- ``{"r": handle}``: an object kept in the child under a handle (requests only);
- ``{"o": description}``: any other object, which the grader cannot use, only name.

This module is copied into the child's sandbox, so it imports nothing but numpy and the standard library.
"""

import json
import math
import struct

import numpy as np

MAX_HEADER_BYTES = 1 << 20  # JSON trees of a few arrays and parameters, and 64 K characters of prints
MAX_PAYLOAD_BYTES = 1 << 30  # the largest graded array set is a few MB; anything near 1 GiB is hostile
MAX_DEPTH = 8  # (loss, {name: array}) is depth 3, a call's arguments with a nested cache about 6
MAX_ITEMS = 10_000  # elements of one encoded tree
MAX_ARRAYS = 256
# How the encoder names what it cut: a value that contains one did not come back whole.
TOO_LARGE, TOO_MANY_ARRAYS = "a structure nested too deeply or too large", "one array too many"
NOT_SENT_DESCRIPTION = "an item the grader did not ask for"

ALLOWED_DTYPES = frozenset(
    np.dtype(name).str
    for name in (
        "bool",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "float16",
        "float32",
        "float64",
        "complex64",
        "complex128",
    )
)

_SCALAR_TYPES = frozenset(np.dtype(code).type for code in ALLOWED_DTYPES)
_PLAIN_TYPES = frozenset((bool, int, float, str, type(None)))
_DTYPES = {code: np.dtype(code) for code in ALLOWED_DTYPES}
_SCALAR_TYPE_NAMES = frozenset(np.dtype(code).name for code in ALLOWED_DTYPES)


class ProtocolError(Exception):
    """A frame that breaks the protocol: too large, malformed, or with an unknown dtype."""


class _Encoder:
    """Turn a Python value into a JSON tree plus a list of arrays."""

    def __init__(self):
        self.arrays = []
        self.items = 0

    def encode(self, value, depth=0):
        self.items += 1
        if depth > MAX_DEPTH or self.items > MAX_ITEMS:
            return {"o": TOO_LARGE}
        kind = type(value)
        if kind is np.ndarray:
            return self._encode_array(value)
        if kind in _PLAIN_TYPES:  # the common values first, by exact type: what the branches below give them
            return {"v": value}
        if kind is tuple or kind is list:
            return {"t" if kind is tuple else "l": [self.encode(item, depth + 1) for item in value]}
        if type(value) is Ref:
            return {"r": value.handle, "i": list(value.path)}
        if isinstance(value, np.generic) and value.dtype.kind in "biuf":
            return {"s": value.item(), "dtype": value.dtype.name}
        if isinstance(value, type) and issubclass(value, np.generic) and value in _SCALAR_TYPES:
            return {"y": np.dtype(value).name}
        if value is None or type(value) in (bool, int, float, str):
            return {"v": value}
        if value is NOT_SENT:
            return {"o": NOT_SENT_DESCRIPTION}
        if isinstance(value, (tuple, list)):  # namedtuples travel as plain tuples
            # The base type's own iteration: a subclass's __iter__ or __len__ cannot change what is sent.
            key, items = ("t", tuple.__iter__(value)) if isinstance(value, tuple) else ("l", list.__iter__(value))
            return {key: [self.encode(item, depth + 1) for item in items]}
        if type(value) is dict and all(type(k) is str for k in value):
            return {"d": {k: self.encode(v, depth + 1) for k, v in value.items()}}
        return {"o": describe(value)}

    def _encode_array(self, array):
        if array.dtype.str not in ALLOWED_DTYPES:
            return {"o": f"numpy.ndarray of dtype {array.dtype}"}
        index = len(self.arrays)
        if index >= MAX_ARRAYS:
            return {"o": TOO_MANY_ARRAYS}
        self.arrays.append(np.ascontiguousarray(array))
        return {"a": index}


class _NotSent:
    """Stands, in a reply, for a returned item the grader did not ask for (a cache kept in the child)."""


NOT_SENT = _NotSent()


class Ref:
    """An object kept in the child, or an item of it: ``Ref("fwd", 1)`` is the cache of a kept forward."""

    def __init__(self, handle, *path):
        self.handle, self.path = handle, path


def describe(value):
    """A short name for an object's type, e.g. 'numpy.ma.MaskedArray'."""
    kind = type(value)
    return f"{kind.__module__}.{kind.__qualname__}"


def encode(value):
    """Encode a value; returns (tree, arrays)."""
    encoder = _Encoder()
    tree = encoder.encode(value)
    return tree, encoder.arrays


def decode(tree, arrays, refs=None):
    """Rebuild a value from its tree; ``refs`` maps handles to objects (child side only).

    Bounded whatever the tree holds: at most MAX_ITEMS items and MAX_DEPTH levels; each array of the
    frame is used at most once (so a few bytes of JSON cannot stand for a thousand copies of one large
    array); integers beyond 64 bits and over-long strings become :class:`Opaque`.
    """
    return _Decoder(arrays, refs).decode(tree, 0)


MAX_INT = 2**63  # integers the grader takes as numbers; larger ones no float or int64 holds
MAX_STRING = 10_000  # characters of one string value: parameter names and modes are a few


class _Decoder:
    def __init__(self, arrays, refs):
        self.arrays, self.refs, self.items, self.used = arrays, refs, 0, set()

    def decode(self, tree, depth):
        self.items += 1
        if self.items > MAX_ITEMS or depth > MAX_DEPTH + 1:
            raise ProtocolError("value too large or too deeply nested")
        size = len(tree) if type(tree) is dict else 0
        if size not in (1, 2):
            raise ProtocolError(f"malformed value {str(tree)[:80]}")
        if size == 1:  # the common values first: what the branches below give them
            if "v" in tree:
                return _plain(tree["v"])
            if "t" in tree and type(tree["t"]) is list:
                return tuple([self.decode(item, depth + 1) for item in tree["t"]])
        if "a" in tree:
            return self._array(tree["a"])
        if "v" in tree:
            return _plain(tree["v"])
        if "s" in tree:
            return _scalar(tree)
        if "y" in tree:
            if type(tree["y"]) is not str or tree["y"] not in _SCALAR_TYPE_NAMES:
                raise ProtocolError("numpy scalar type of an unsupported kind")
            return np.dtype(tree["y"]).type
        if "t" in tree or "l" in tree:
            items = tree.get("t", tree.get("l"))
            if type(items) is not list:
                raise ProtocolError("malformed sequence")
            decoded = [self.decode(item, depth + 1) for item in items]
            return tuple(decoded) if "t" in tree else decoded
        if "d" in tree:
            if type(tree["d"]) is not dict:
                raise ProtocolError("malformed dict")
            return {_key(key): self.decode(item, depth + 1) for key, item in tree["d"].items()}
        if "r" in tree and self.refs is not None:
            value = self.refs[tree["r"]]
            for index in tree.get("i", []):
                value = value[index]
            return value
        if "o" in tree:
            return Opaque(str(tree["o"])[:200])
        raise ProtocolError(f"malformed value {str(tree)[:80]}")

    def _array(self, index):
        if type(index) is not int or not 0 <= index < len(self.arrays):
            raise ProtocolError("array index out of range")
        if index in self.used:
            raise ProtocolError("one array used twice")
        self.used.add(index)
        return self.arrays[index]


def _plain(value):
    """A JSON scalar as the grader takes it: bool, bounded int, float, bounded str or None."""
    if value is None or type(value) in (bool, float):
        return value
    if type(value) is int:
        return value if -MAX_INT < value < MAX_INT else Opaque("an integer too large for any numpy type")
    if type(value) is str:
        return value if len(value) <= MAX_STRING else Opaque(f"a string of {len(value)} characters")
    raise ProtocolError("malformed scalar")


def _key(key):
    if len(key) > 200:
        raise ProtocolError("dict key too long")
    return key


def _scalar(tree):
    try:
        dtype = np.dtype(str(tree.get("dtype")))
    except TypeError:
        raise ProtocolError("numpy scalar of an unknown dtype") from None
    if dtype.str not in ALLOWED_DTYPES or type(tree["s"]) not in (bool, int, float):
        raise ProtocolError("numpy scalar of an unsupported type")
    return dtype.type(tree["s"])


class Opaque:
    """Stands in, on the grader's side, for an object the child could not send (not an array)."""

    def __init__(self, description):
        self.description = description

    @property
    def cut(self):
        """True when the encoder left out part of a value because of its size, not because of its type."""
        return self.description in (TOO_LARGE, TOO_MANY_ARRAYS)

    def __repr__(self):
        return f"<{self.description}>"


def pack(header, arrays=()):
    """Serialize a header dict and C-contiguous arrays (the encoder's) into one frame (bytes)."""
    header = dict(header, arrays=[[a.dtype.str, list(a.shape)] for a in arrays])
    head = json.dumps(header).encode()
    body_length = sum(a.nbytes for a in arrays)
    # One copy of each array, straight into the frame.
    return b"".join([struct.pack(">I", len(head)), head, struct.pack(">Q", body_length), *(_raw(a) for a in arrays)])


def _raw(array):
    """The array's bytes as one flat buffer: a view of its memory where it is contiguous (no copy)."""
    if not array.nbytes:
        return b""
    return memoryview(array).cast("B") if array.flags.c_contiguous else array.tobytes()


def unpack_header(head_bytes):
    """Parse and check a frame's JSON header; returns (header, array specs)."""
    try:
        header = json.loads(head_bytes)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"header is not JSON: {exc}") from None
    if not isinstance(header, dict) or not isinstance(header.get("arrays"), list):
        raise ProtocolError("header is not a message")
    specs = []
    for spec in header.pop("arrays")[: MAX_ARRAYS + 1]:
        if len(specs) >= MAX_ARRAYS:
            raise ProtocolError("too many arrays")
        specs.append(_array_spec(spec))
    return header, specs


def _array_spec(spec):
    if not (isinstance(spec, list) and len(spec) == 2 and spec[0] in ALLOWED_DTYPES):
        raise ProtocolError(f"array of an unsupported type: {str(spec)[:80]}")
    dtype, shape = _DTYPES[spec[0]], spec[1]
    # Each side at most MAX_PAYLOAD_BYTES (an empty array's others too), so the exact product is a small int.
    if not (
        isinstance(shape, list)
        and len(shape) <= 8
        and all(type(n) is int and 0 <= n <= MAX_PAYLOAD_BYTES for n in shape)
    ):
        raise ProtocolError(f"bad array shape {str(shape)[:80]}")
    nbytes = dtype.itemsize * math.prod(shape)
    if nbytes > MAX_PAYLOAD_BYTES:
        raise ProtocolError("array too large")
    return dtype, tuple(shape), nbytes


def arrays_from_body(specs, body):
    """Cut the frame's body into fresh, writable arrays as its specs say."""
    if sum(nbytes for _, _, nbytes in specs) != len(body):
        raise ProtocolError("body length does not match the arrays announced")
    arrays, offset = [], 0
    for dtype, shape, nbytes in specs:
        array = np.frombuffer(body, dtype=dtype, count=nbytes // dtype.itemsize, offset=offset).reshape(shape)
        # Views of a writable buffer (a bytearray of its own: both sides read so) are fresh already; bytes are copied.
        arrays.append(array if array.flags.writeable else array.copy())
        offset += nbytes
    return arrays


def read_frame(read_exact, max_body=MAX_PAYLOAD_BYTES, charge=None):
    """Read one frame with ``read_exact(n) -> bytes``; returns (header, arrays).

    Every size is checked before that many bytes are read: the header against MAX_HEADER_BYTES, the body
    against ``max_body`` and its header's arrays; ``charge(n)``, if given, is told each size first (the
    grader's budget of bytes per submission, which raises ProtocolError when spent).
    """
    (head_len,) = struct.unpack(">I", read_exact(4))
    if head_len > MAX_HEADER_BYTES:
        raise ProtocolError(f"header of {head_len} bytes is too large")
    if charge is not None:
        charge(head_len)
    header, specs = unpack_header(read_exact(head_len))
    (body_len,) = struct.unpack(">Q", read_exact(8))
    if body_len > max_body or body_len != sum(nbytes for _, _, nbytes in specs):
        raise ProtocolError(f"body of {body_len} bytes is too large or does not match its header")
    if charge is not None:
        charge(body_len)
    return header, arrays_from_body(specs, read_exact(body_len))
