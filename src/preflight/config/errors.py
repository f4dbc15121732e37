"""One line per config problem: file, key path, the bad value, what is allowed, did you mean.

    config/preflight.yaml: campaigns[0].goalType: got 'LEAD_CAPTUR'; allowed: PRODUCT_SALE,
    LEAD_CAPTURE, NEWSLETTER, AFFILIATE_CLICKOUT, APP_INSTALL; did you mean 'LEAD_CAPTURE'?

(one line in practice). The reader is a marketing manager, not a Python developer, so
pydantic's wording and class names are translated, and a credential value is never shown.
"""

from __future__ import annotations

import difflib
import types
from collections.abc import Iterable
from enum import Enum
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from preflight.core.redact import redact_text

Loc = tuple[str | int, ...]

# Fields under these keys hold secrets: their values are never printed.
SECRET_KEYS = frozenset({"credentials"})

# pydantic's wording for a wrong type, said the way a YAML editor thinks of it.
PLAIN_REASONS = {
    "model_type": "expected a mapping (key: value lines)",
    "model_attributes_type": "expected a mapping (key: value lines)",
    "dict_type": "expected a mapping (key: value lines)",
    "list_type": "expected a list (lines starting with '- ')",
    "string_type": "expected text",
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "too_short": "too few items",
}


class ConfigError(Exception):
    """A config that cannot run. `.problems` holds one printable line per problem."""

    def __init__(self, problems: Iterable[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))

    def __str__(self) -> str:
        return "\n".join(self.problems)


# --- formatting -----------------------------------------------------------------------


def format_path(loc: Iterable[str | int]) -> str:
    """('campaigns', 1, 'variants', 0, 'slug') -> 'campaigns[1].variants[0].slug'."""
    text = ""
    for part in loc:
        if isinstance(part, int) and not isinstance(part, bool):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(top level)"


def problem_line(file: str, loc: Iterable[str | int], message: str) -> str:
    """`file: key.path: message`; a problem with the whole file (empty loc) has no path."""
    loc = tuple(loc)
    return f"{file}: {format_path(loc)}: {message}" if loc else f"{file}: {message}"


def show_value(value: Any) -> str:
    """A value as the user wrote it in YAML, short enough for one line."""
    if isinstance(value, dict):
        return "a mapping" if value else "an empty mapping"
    if isinstance(value, (list, tuple)):
        return "a list" if value else "an empty list"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = value if len(value) <= 80 else value[:77] + "..."
        return repr(text)
    return str(value)


def did_you_mean(word: Any, choices: Iterable[str]) -> str | None:
    """The closest choice, ignoring case (so lead_capture suggests LEAD_CAPTURE)."""
    if not isinstance(word, str):
        return None
    by_upper = {choice.upper(): choice for choice in choices}
    if word.upper() in by_upper and by_upper[word.upper()] != word:
        return by_upper[word.upper()]
    matches = difflib.get_close_matches(word.upper(), list(by_upper), n=1, cutoff=0.6)
    if matches:
        return by_upper[matches[0]]
    # A clipped value (FREE for FREE_WITH_LOGIN) is too short for difflib's ratio.
    starts = [choice for upper, choice in by_upper.items() if word and upper.startswith(word.upper())]
    return starts[0] if len(starts) == 1 else None


def join_message(what: str, allowed: str = "", guess: str | None = None) -> str:
    parts = [what]
    if allowed:
        parts.append(f"allowed: {allowed}")
    if guess:
        parts.append(f"did you mean {guess!r}?")
    return "; ".join(parts)


# --- walking the models along an error's key path --------------------------------------


def unwrap(annotation: Any) -> Any:
    """Optional[X] -> X, Annotated[X, ...] -> X."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return unwrap(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        args = [arg for arg in get_args(annotation) if arg is not type(None)]
        if len(args) == 1:
            return unwrap(args[0])
    return annotation


def is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def field_named(model: type[BaseModel], key: Any) -> FieldInfo | None:
    for name, info in model.model_fields.items():
        if key in (name, info.alias):
            return info
    return None


def annotation_at(root: type[BaseModel], loc: Loc) -> Any:
    """The type a key path points at in the model tree (None when the path leaves it)."""
    annotation: Any = root
    for part in loc:
        annotation = unwrap(annotation)
        if isinstance(part, int) and get_origin(annotation) is list:
            annotation = get_args(annotation)[0]
        elif isinstance(part, str) and is_model(annotation):
            info = field_named(annotation, part)
            annotation = info.annotation if info else None
        elif isinstance(part, str) and get_origin(annotation) is dict:
            annotation = get_args(annotation)[1]
        else:
            return None
    return unwrap(annotation)


def field_at(root: type[BaseModel], loc: Loc) -> FieldInfo | None:
    """The field a key path names (list indices after it are skipped)."""
    parts = list(loc)
    while parts and isinstance(parts[-1], int):
        parts.pop()
    if not parts:
        return None
    parent = annotation_at(root, tuple(parts[:-1]))
    if is_model(parent):
        return field_named(parent, parts[-1])
    if get_origin(parent) is dict:  # a mapping's value, described by its Annotated Field
        value = get_args(parent)[1]
        if get_origin(value) is Annotated:
            return next((m for m in get_args(value)[1:] if isinstance(m, FieldInfo)), None)
    return None


def keys_at(root: type[BaseModel], loc: Loc) -> list[str]:
    model = annotation_at(root, loc)
    if not is_model(model):
        return []
    return [info.alias or name for name, info in model.model_fields.items()]


def values_at(root: type[BaseModel], loc: Loc) -> list[str]:
    """The allowed values of an enum or Literal field, else []."""
    annotation = annotation_at(root, loc)
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return [str(member.value) for member in annotation]
    if get_origin(annotation) is Literal:
        return [str(arg) for arg in get_args(annotation)]
    return []


# --- pydantic errors -> lines ----------------------------------------------------------


def is_secret(loc: Loc) -> bool:
    # A webhook URL carries its token (notify.webhooks[i].url).
    return any(part in SECRET_KEYS for part in loc) or (loc[:2] == ("notify", "webhooks") and loc[-1:] == ("url",))


def shown_input(loc: Loc, value: Any, env_refs: dict[Loc, str]) -> str:
    """The bad value for the line: masked under credentials, traced back to ${VAR} when expanded."""
    ref = env_refs.get(loc)
    if is_secret(loc) and not isinstance(value, (dict, list)):  # "a mapping" reveals nothing
        return f"the value of {ref} (hidden)" if ref else "a secret value (hidden)"
    if ref:
        return f"{show_value(value)} (expanded from {ref!r})"
    return show_value(value)


def explain(error: dict[str, Any], root: type[BaseModel], env_refs: dict[Loc, str]) -> str:
    kind, loc = error["type"], tuple(error["loc"])
    field = field_at(root, loc)
    description = (field.description or "") if field else ""
    if kind == "missing":
        return join_message("missing (required)", values_or(root, loc, description))
    if kind == "extra_forbidden":
        keys = keys_at(root, loc[:-1])
        return join_message(f"unknown key {str(loc[-1])!r}", ", ".join(keys), did_you_mean(loc[-1], keys))
    if kind == "required_here":
        return join_message("missing", error["ctx"]["allowed"])
    got = "got " + shown_input(loc, error.get("input"), env_refs)
    if kind == "not_allowed":
        return join_message(got, error["ctx"]["allowed"])
    choices = values_at(root, loc)
    if choices:
        return join_message(got, ", ".join(choices), did_you_mean(error.get("input"), choices))
    reason = plain_reason(kind, error["msg"])
    if kind == "string_pattern_mismatch" and description:
        reason = ""  # the description says the rule better than the regex
    return join_message(f"{got}: {reason}" if reason else got, description)


def values_or(root: type[BaseModel], loc: Loc, description: str) -> str:
    return ", ".join(values_at(root, loc)) or description


def plain_reason(kind: str, message: str) -> str:
    if kind in PLAIN_REASONS:
        return PLAIN_REASONS[kind]
    message = message.removeprefix("Value error, ")
    return message[:1].lower() + message[1:]


def validation_lines(
    error: ValidationError,
    file: str,
    root: type[BaseModel],
    env_refs: dict[Loc, str] | None = None,
    skip: Iterable[Loc] = (),
) -> list[str]:
    """One line per pydantic error. `skip`: paths already reported (e.g. a missing env var)."""
    skipped = [tuple(loc) for loc in skip]
    lines = []
    for item in error.errors():
        loc = tuple(item["loc"])
        if any(loc[: len(prefix)] == prefix for prefix in skipped):
            continue
        lines.append(problem_line(file, loc, explain(item, root, env_refs or {})))
    return lines


def masked(lines: Iterable[str], secrets: Iterable[str] = ()) -> list[str]:
    """Last line of defence: anything shaped like a token, or a known secret, is masked."""
    # Values too short to be a token would mask ordinary words (a secret "y" in "yaml").
    return [redact_text(line, extra=[s for s in secrets if s and len(s) >= 8]) for line in lines]


# --- file-level problems ---------------------------------------------------------------


def yaml_error_line(file: str, error: yaml.YAMLError) -> str:
    """A YAML syntax error as file:line:col, pointing where the parser gave up."""
    mark = getattr(error, "problem_mark", None)
    where = f"{file}:{mark.line + 1}:{mark.column + 1}" if mark else file
    problem = getattr(error, "problem", None) or str(error)
    if problem.startswith("duplicate key"):
        return f"{where}: {problem}; keep only one"
    return f"{where}: YAML syntax error: {problem}; check the indentation and quoting on this line and the one above"
