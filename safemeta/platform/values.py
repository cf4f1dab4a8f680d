"""Typed checks of experiment-file values against the signatures that receive them.

Hyperparameters go to an algorithm config's ``training()`` and env kwargs to the env creator;
both are checked here against those parameters' annotations, so that a bad value fails before Ray
starts, in one line that names the field. YAML gives strings for anything quoted, and ``bool("no")``
is True, so a string is an error wherever the annotation admits no string; other values are
checked by pydantic's (lax) validation of the annotation. Unresolvable annotations are skipped.
"""

from __future__ import annotations

import dataclasses
import inspect
import sys
import typing
from collections.abc import Callable, Mapping
from types import UnionType
from typing import Any

from pydantic import ConfigDict, TypeAdapter, ValidationError

from safemeta.algorithms.registry import training_parameters

Annotations = dict[str, Any]
_SKIP = object()


def _resolve(annotation: Any, owner: Any) -> Any:
    """The annotation object (string annotations evaluated in ``owner``'s module), or _SKIP."""
    if annotation is inspect.Parameter.empty:
        return _SKIP
    if isinstance(annotation, str):
        module = sys.modules.get(getattr(owner, "__module__", ""), None)
        try:
            return eval(annotation, vars(module) if module else {})
        except Exception:  # forward references we cannot resolve: skip
            return _SKIP
    return annotation


def parameter_annotations(function: Callable[..., Any]) -> tuple[Annotations, bool]:
    """Keyword-usable parameters of ``function`` with resolved annotations, and whether it
    takes ``**kwargs``. A function whose ``**kwargs`` are the fields of a dataclass says so with
    a ``keyword_fields`` attribute; those fields are added and the function is not open-ended."""
    target = function.__init__ if inspect.isclass(function) else function
    annotations: Annotations = {}
    open_ended = False
    for p in inspect.signature(target).parameters.values():
        if p.kind is inspect.Parameter.VAR_KEYWORD:
            open_ended = True
        elif p.name != "self" and p.kind is not inspect.Parameter.VAR_POSITIONAL:
            annotations[p.name] = _resolve(p.annotation, target)
    fields_of = getattr(function, "keyword_fields", None)
    if fields_of is not None:
        hints = typing.get_type_hints(fields_of)
        for field in dataclasses.fields(fields_of):
            annotations.setdefault(field.name, hints.get(field.name, _SKIP))
        open_ended = False
    return annotations, open_ended


def training_annotations(config_class: type) -> Annotations:
    """``training()`` keyword arguments over the config's MRO (the subclass's annotation wins)."""
    return {
        name: _resolve(p.annotation, method)
        for name, (p, method) in training_parameters(config_class).items()
    }


def _admits_string(annotation: Any) -> bool:
    if annotation in (_SKIP, Any, object, str) or isinstance(annotation, typing.TypeVar):
        return True
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return any(isinstance(a, str) for a in typing.get_args(annotation))
    if origin in (typing.Union, UnionType):
        return any(_admits_string(a) for a in typing.get_args(annotation))
    return isinstance(annotation, type) and issubclass(str, annotation)


def _describe(annotation: Any) -> str:
    if typing.get_origin(annotation) in (typing.Union, UnionType):
        return " | ".join(_describe(a) for a in typing.get_args(annotation))
    if isinstance(annotation, type) and not typing.get_args(annotation):
        return "None" if annotation is type(None) else annotation.__name__
    return str(annotation).replace("typing.", "")


def value_problem(value: Any, annotation: Any) -> str | None:
    """Why ``value`` does not fit ``annotation`` (None if it does, or cannot be checked)."""
    if annotation is _SKIP:
        return None
    if isinstance(value, str) and not _admits_string(annotation):
        return f"got the string {value!r}; expected {_describe(annotation)}"
    try:
        adapter = TypeAdapter(annotation, config=ConfigDict(arbitrary_types_allowed=True))
    except Exception:  # pydantic cannot build a validator: do not guess
        return None
    try:
        adapter.validate_python(value)
    except ValidationError as error:
        first = error.errors()[0]["msg"]
        return f"{value!r} is not a valid {_describe(annotation)} ({first})"
    return None


def typed_problems(values: Mapping[str, Any], annotations: Annotations, where: str) -> list[str]:
    """One line per value that does not fit its parameter's annotation."""
    problems = []
    for name, value in values.items():
        if name in annotations:
            problem = value_problem(value, annotations[name])
            if problem:
                problems.append(f"{where}.{name}: {problem}")
    return problems
