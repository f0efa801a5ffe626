"""Restricted evaluation of BPMN scripts and expressions: no imports, files, network or dunders."""

from __future__ import annotations

import operator
from datetime import date, datetime, timedelta
from functools import lru_cache
from types import CodeType
from typing import Any

from RestrictedPython import compile_restricted_eval, compile_restricted_exec, limited_builtins, safe_builtins
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


_INPLACE = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
    "//=": operator.ifloordiv, "%=": operator.imod, "**=": operator.ipow,
    "|=": operator.ior, "&=": operator.iand, "^=": operator.ixor,
}


def _inplacevar(op: str, target: Any, value: Any) -> Any:
    if op not in _INPLACE:
        raise ScriptRejected(f"The operator {op} is not allowed in scripts.")
    return _INPLACE[op](target, value)


_BUILTINS: dict[str, Any] = {
    **safe_builtins,
    **limited_builtins,
    "dict": dict, "list": list, "set": set, "frozenset": frozenset, "sum": sum, "min": min, "max": max,
    "any": any, "all": all, "enumerate": enumerate, "reversed": reversed, "map": map, "filter": filter,
    "datetime": datetime, "date": date, "timedelta": timedelta,
}

_GUARDS: dict[str, Any] = {
    "__builtins__": _BUILTINS,
    "_getattr_": safer_getattr,
    "_getitem_": default_guarded_getitem,
    "_getiter_": default_guarded_getiter,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_write_": full_write_guard,
    "_inplacevar_": _inplacevar,
    "_print_": PrintCollector,
}


@lru_cache(maxsize=4096)
def compile_expression(source: str) -> CodeType:
    result = compile_restricted_eval(source.strip(), "<expression>")
    if result.errors:
        raise ScriptRejected("; ".join(result.errors))
    return result.code


@lru_cache(maxsize=4096)
def compile_script(source: str) -> CodeType:
    result = compile_restricted_exec(source, "<script>")
    if result.errors:
        raise ScriptRejected("; ".join(result.errors))
    return result.code


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """Runs task scripts against the task data with RestrictedPython's guards."""

    def __init__(self, functions: dict[str, Any] | None = None):
        super().__init__({**_GUARDS, **(functions or {})})

    def evaluate(self, expression: str, context: dict, external_context: dict | None = None) -> Any:
        # Guards go last so that no data key can replace them.
        namespace = {**(external_context or {}), **context, **self.globals}
        value = eval(compile_expression(expression), namespace)  # noqa: S307 - restricted bytecode
        # Timers want ISO text, and so does task data: a date or time an expression gives is handed on as text,
        # so `due_after("x")` serves a timer as well as a due time.
        return value.isoformat() if isinstance(value, date) else value

    def execute(self, script: str, context: dict, external_context: dict | None = None) -> bool:
        injected = {**(external_context or {}), **self.globals}
        namespace = {**context, **injected}
        exec(compile_script(script), namespace)  # noqa: S102 - restricted bytecode
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
