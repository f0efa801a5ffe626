"""Restricted evaluation of BPMN scripts and expressions: no imports, files, network or dunders, and limits."""

from __future__ import annotations

import ast
import operator
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from types import CodeType, FrameType
from typing import Any

from RestrictedPython import (
    RestrictingNodeTransformer,
    compile_restricted_eval,
    compile_restricted_exec,
    limited_builtins,
    safe_builtins,
)
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr,
)
from RestrictedPython.PrintCollector import PrintCollector
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment


class ScriptRejected(ValueError):
    """A script or expression that does not compile under the restrictions."""


class ScriptLimit(RuntimeError):
    """A script or expression ran past its time limit or would make a value past its memory limit.

    Its message names the limit, never a value, so it is safe to show and to log."""


class ScriptAborted(RuntimeError):
    """A script raised an exception that is not an error (SystemExit, KeyboardInterrupt, GeneratorExit):
    turned into an error here, so that it fails the step rather than stopping a worker or a thread."""


@dataclass(frozen=True)
class Limits:
    """How long one evaluation may run, and how big a value it may make (a string, list or number)."""

    seconds: float = 1.0
    memory_mb: int = 64

    @property
    def memory_bytes(self) -> int:
        return self.memory_mb * 2**20


_limits = Limits()


def configure(limits: Limits) -> None:
    """Set the limits every evaluation in this process runs under (the app factory passes its settings)."""
    global _limits
    _limits = limits


def limits() -> Limits:
    return _limits


# Names the sandbox never offers, refused when a diagram is compiled so that deploy can say so.
FORBIDDEN_NAMES = frozenset({
    "open", "getattr", "setattr", "delattr", "eval", "exec", "compile", "globals", "locals", "vars", "dir",
    "input", "breakpoint", "help", "memoryview", "type", "super", "object",
})
_SIZED = {ast.Pow: "**", ast.Mult: "*", ast.LShift: "<<", ast.Mod: "%"}
_WIDTH = re.compile(r"\d+")


class _Policy(RestrictingNodeTransformer):
    """RestrictedPython's rules, plus: no imports, no forbidden names, and the operators that can make a
    huge value in one step (`**`, `*`, `<<`, `%` on text) go through `_binop_`, which checks the size first."""

    def check_import_names(self, node: ast.Import | ast.ImportFrom) -> Any:
        self.error(node, "import is not allowed: scripts use only the functions the engine offers.")
        return node

    def visit_Name(self, node: ast.Name) -> Any:
        if node.id in FORBIDDEN_NAMES:
            self.error(node, f"'{node.id}' is not allowed in scripts.")
        return super().visit_Name(node)

    def visit_BinOp(self, node: ast.BinOp) -> Any:
        node = self.node_contents_visit(node)
        symbol = _SIZED.get(type(node.op))
        if symbol is None:
            return node
        call = ast.Call(func=ast.Name("_binop_", ast.Load()), args=[ast.Constant(symbol), node.left, node.right],
                        keywords=[])
        for new in (call, call.func, call.args[0]):
            ast.copy_location(new, node)
        return call

    def visit_FormattedValue(self, node: ast.FormattedValue) -> Any:
        node = self.node_contents_visit(node)
        spec = node.format_spec
        if spec is not None and not all(isinstance(v, ast.Constant) for v in spec.values):
            self.error(node, "A format width worked out while running is not allowed in f-strings.")
        elif spec is not None and any(int(w) > _limits.memory_bytes
                                      for v in spec.values for w in _WIDTH.findall(str(v.value))):
            self.error(node, "The f-string's format width is past the memory limit.")
        return node


_INPLACE = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
    "//=": operator.ifloordiv, "%=": operator.imod, "**=": operator.ipow,
    "|=": operator.ior, "&=": operator.iand, "^=": operator.ixor,
}


def _inplacevar(op: str, target: Any, value: Any) -> Any:
    if op not in _INPLACE:
        raise ScriptRejected(f"The operator {op} is not allowed in scripts.")
    if op[:-1] in _BINOPS:
        _check_size(op[:-1], target, value)
    return _INPLACE[op](target, value)


_BINOPS: dict[str, Callable[[Any, Any], Any]] = {
    "**": operator.pow, "*": operator.mul, "<<": operator.lshift, "%": operator.mod}
_ITEM_BYTES = 8  # a list or tuple holds one pointer per item


def _too_big(what: str) -> ScriptLimit:
    return ScriptLimit(f"{what} would be bigger than the memory limit of {_limits.memory_mb} MB")


def _bytes_of(value: Any) -> int:
    if isinstance(value, str | bytes):
        return len(value)
    if isinstance(value, list | tuple):
        return len(value) * _ITEM_BYTES
    return 0


def _check_size(symbol: str, left: Any, right: Any) -> None:
    """Refuse an operation whose result would pass the memory limit, before it is worked out."""
    budget = _limits.memory_bytes * 8  # in bits, for integers
    ints = isinstance(left, int) and isinstance(right, int)
    if symbol == "**" and ints and right > 0 and abs(left) > 1 and right * left.bit_length() > budget:
        raise _too_big("The power")
    if symbol == "<<" and ints and right > 0 and left and left.bit_length() + right > budget:
        raise _too_big("The shift")
    if symbol == "*":
        if ints and left.bit_length() + right.bit_length() > budget:
            raise _too_big("The product")
        for sequence, times in ((left, right), (right, left)):
            if isinstance(times, int) and _bytes_of(sequence) * max(times, 0) > _limits.memory_bytes:
                raise _too_big("The repeated text or list")
    if symbol == "%" and isinstance(left, str | bytes):
        widths = [int(w) for w in _WIDTH.findall(left if isinstance(left, str) else left.decode("latin-1"))]
        starred = [a for a in (right if isinstance(right, tuple) else (right,)) if isinstance(a, int)] \
            if "*" in str(left) else []
        if any(w > _limits.memory_bytes for w in widths + starred):
            raise _too_big("The formatted text")


def _binop(symbol: str, left: Any, right: Any) -> Any:
    _check_size(symbol, left, right)
    return _BINOPS[symbol](left, right)


def _pow(base: Any, exp: Any, mod: Any = None) -> Any:
    if mod is None:
        return _binop("**", base, exp)
    return pow(base, exp, mod)  # modular powers stay small


def _range(*args: int) -> range:
    """range, but not one whose list would pass the memory limit (a `sum` over it would hold up the step)."""
    span = range(*args)
    if len(span) * _ITEM_BYTES > _limits.memory_bytes:
        raise _too_big("The range")
    return span


_WIDTH_METHODS = {"ljust", "rjust", "center", "zfill"}


def _guarded_getattr(obj: Any, name: str, default: Any = None) -> Any:
    """safer_getattr, with text padding and replacing checked against the memory limit first."""
    value = safer_getattr(obj, name, default)
    if isinstance(obj, str | bytes) and name in _WIDTH_METHODS:
        def padded(width: int, *args: Any) -> Any:
            if isinstance(width, int) and width > _limits.memory_bytes:
                raise _too_big("The padded text")
            return value(width, *args)
        return padded
    if isinstance(obj, str | bytes) and name in ("replace", "expandtabs", "format", "format_map"):
        def checked(*args: Any, **kwargs: Any) -> Any:
            texts = [a for a in (*args, *kwargs.values()) if isinstance(a, str | bytes)]
            numbers = [a for a in (*args, *kwargs.values()) if isinstance(a, int)]
            widths = [int(w) for w in _WIDTH.findall(obj if isinstance(obj, str) else obj.decode("latin-1"))]
            grows = len(obj) * (1 + max([*numbers, 0]) + sum(len(t) for t in texts))
            if grows > _limits.memory_bytes or any(w > _limits.memory_bytes for w in widths):
                raise _too_big("The text")
            return value(*args, **kwargs)
        return checked
    return value


_BUILTINS: dict[str, Any] = {
    **safe_builtins,
    **limited_builtins,
    "dict": dict, "list": list, "set": set, "frozenset": frozenset, "sum": sum, "min": min, "max": max,
    "any": any, "all": all, "enumerate": enumerate, "reversed": reversed, "map": map, "filter": filter,
    "datetime": datetime, "date": date, "timedelta": timedelta,
    "pow": _pow, "range": _range,
}
for _name in FORBIDDEN_NAMES:
    _BUILTINS.pop(_name, None)

_GUARDS: dict[str, Any] = {
    "__builtins__": _BUILTINS,
    "_getattr_": _guarded_getattr,
    "_binop_": _binop,
    "_getitem_": default_guarded_getitem,
    "_getiter_": default_guarded_getiter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": full_write_guard,
    "_inplacevar_": _inplacevar,
    "_print_": PrintCollector,
}


SANDBOX_NAMES = frozenset(_BUILTINS)
"""Every builtin name a script or expression may use."""

_FILES = ("<expression>", "<script>")


@lru_cache(maxsize=4096)
def compile_expression(source: str) -> CodeType:
    result = _compiled(compile_restricted_eval, source.strip(), _FILES[0])
    if result.errors:
        raise ScriptRejected("; ".join(result.errors))
    return result.code


@lru_cache(maxsize=4096)
def compile_script(source: str) -> CodeType:
    result = _compiled(compile_restricted_exec, source, _FILES[1])
    if result.errors:
        raise ScriptRejected("; ".join(result.errors))
    return result.code


def _compiled(compiler: Callable[..., Any], source: str, filename: str) -> Any:
    try:
        return compiler(source, filename, policy=_Policy)
    except (RecursionError, MemoryError, ValueError) as exc:  # nested too deep, or a NUL byte in the source
        raise ScriptRejected(f"it cannot be compiled ({type(exc).__name__})") from None


_running = threading.local()


def _limited(run: Callable[[], Any]) -> Any:
    """Run one evaluation under the time limit, tracing each bytecode of the diagram's own code.

    A trace function is per thread, so this works alike in a web request's thread, a Celery worker and the
    embedded scheduler's thread, where a signal-based alarm could not. Only frames of the diagram's code are
    traced opcode by opcode (a tight `while True: pass` has no line events to catch); the engine's and the
    pathway's functions the script calls run untraced. An evaluation inside another keeps the outer deadline.
    """
    if getattr(_running, "deadline", None) is not None:
        return _aborting(run)
    deadline = time.monotonic() + _limits.seconds

    def local(frame: FrameType, event: str, _arg: Any) -> Any:
        if time.monotonic() > deadline:
            raise ScriptLimit(f"it ran past the time limit of {_limits.seconds:g} s")
        return local

    def calls(frame: FrameType, event: str, _arg: Any) -> Any:
        if frame.f_code.co_filename in _FILES:
            frame.f_trace_opcodes = True
            return local(frame, event, _arg)
        return None

    previous = sys.gettrace()  # a debugger's or coverage's tracer, put back afterwards
    _running.deadline = deadline
    sys.settrace(calls)
    try:
        return _aborting(run)
    finally:
        sys.settrace(previous)
        _running.deadline = None


def _aborting(run: Callable[[], Any]) -> Any:
    try:
        return run()
    except Exception:
        raise
    except BaseException as exc:  # SystemExit and the like, raised by the diagram's code
        raise ScriptAborted(f"the script raised {type(exc).__name__}") from None


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """Runs task scripts against the task data with RestrictedPython's guards."""

    def __init__(self, functions: dict[str, Any] | None = None):
        super().__init__({**_GUARDS, **(functions or {})})

    def evaluate(self, expression: str, context: dict, external_context: dict | None = None) -> Any:
        # Guards go last so that no data key can replace them.
        namespace = {**(external_context or {}), **context, **self.globals}
        code = compile_expression(expression)
        value = _limited(lambda: eval(code, namespace))  # noqa: S307 - restricted bytecode
        # Timers want ISO text, and so does task data: a date or time an expression gives is handed on as text,
        # so `due_after("x")` serves a timer as well as a due time.
        return value.isoformat() if isinstance(value, date) else value

    def execute(self, script: str, context: dict, external_context: dict | None = None) -> bool:
        injected = {**(external_context or {}), **self.globals}
        namespace = {**context, **injected}
        code = compile_script(script)
        _limited(lambda: exec(code, namespace))  # noqa: S102 - restricted bytecode
        # Write back only the data the script left, never our guards or any function it defined.
        result = {
            k: v for k, v in namespace.items()
            if k not in injected and not k.startswith("_") and not callable(v)
        }
        context.clear()
        context.update(result)
        return True


def make_script_engine(functions: dict[str, Any] | None = None) -> PythonScriptEngine:
    """A restricted engine; `functions` are what a bundle offers its scripts (its timescales, say)."""
    return PythonScriptEngine(environment=RestrictedEnvironment(functions))


SCRIPT_ENGINE = make_script_engine()
