"""Read config/preflight.yaml and its target, expand ${ENV} references, validate.

Every problem a user can cause ends as one line in a ConfigError, collected across both
files so one run shows them all; nothing here lets a traceback reach the user.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError

from preflight.config.base import Strict
from preflight.config.browser import BrowserSettings, browser_shorthand
from preflight.config.errors import (
    ConfigError,
    Loc,
    did_you_mean,
    format_path,
    join_message,
    masked,
    problem_line,
    show_value,
    validation_lines,
    yaml_error_line,
)
from preflight.config.notify import NotifySettings
from preflight.config.run import RunConfig, find_duplicates
from preflight.config.target import TargetConfig
from preflight.core import redact

ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
DEFAULT_TARGET = "sandbox"


class UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice (PyYAML would silently keep the last one)."""


def _construct_mapping(loader: UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    first_line: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            seen = first_line.get(key)
        except TypeError:  # an unhashable key; the constructor below reports it
            continue
        if seen is not None:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first at line {seen})", key_node.start_mark
            )
        first_line[key] = key_node.start_mark.line + 1
    return loader.construct_mapping(node, deep)


UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


class Source:
    """One YAML file being loaded, and the problems found in it so far."""

    def __init__(self, path: Path, problems: list[str], name: str | None = None):
        self.path = path
        self.name = name or display_path(path)
        self.problems = problems
        self.env_refs: dict[Loc, str] = {}  # path -> the text with ${VAR} as written
        self.missing_env: list[Loc] = []

    def add(self, loc: Loc, message: str) -> None:
        self.problems.append(problem_line(self.name, loc, message))


def display_path(path: Path) -> str:
    """The path as the user would type it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


# --- reading ---------------------------------------------------------------------------


FAILED = object()  # read_yaml's answer after a problem line (None is an empty file)


def read_yaml(source: Source) -> Any:
    """The parsed file, or FAILED after adding a problem line."""
    try:
        text = source.path.read_text(encoding="utf-8")
    except FileNotFoundError:
        source.problems.append(f"{source.name}: file not found; create it or pass the path of an existing YAML file")
        return FAILED
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc.__class__.__name__
        source.problems.append(f"{source.name}: cannot read the file ({reason}); check the path and permissions")
        return FAILED
    try:
        return yaml.load(text, Loader=UniqueKeyLoader)  # a SafeLoader: no arbitrary objects
    except yaml.YAMLError as exc:
        source.problems.append(yaml_error_line(source.name, exc))
        return FAILED


def read_mapping(source: Source, example: str) -> dict[str, Any] | None:
    data = read_yaml(source)
    if data is FAILED:
        return None
    if not isinstance(data, dict):
        got = "an empty file" if data is None else f"got {show_value(data)}"
        source.add((), join_message(got, f"a mapping of keys such as {example}"))
        return None
    return data


def expand_env(source: Source, data: Any, environ: Mapping[str, str], loc: Loc = ()) -> Any:
    """Replace ${VAR} in every string value; a missing or empty variable is a problem line."""
    if isinstance(data, dict):
        return {key: expand_env(source, value, environ, (*loc, key)) for key, value in data.items()}
    if isinstance(data, list):
        return [expand_env(source, item, environ, (*loc, i)) for i, item in enumerate(data)]
    if not isinstance(data, str) or not ENV_REFERENCE.search(data):
        return data
    source.env_refs[loc] = data
    if is_webhook_url(loc):
        # An unset webhook URL leaves that webhook out (the gate says so), not the whole run.
        return ENV_REFERENCE.sub(lambda match: environ.get(match.group(1)) or match.group(0), data)
    for name in ENV_REFERENCE.findall(data):
        if not environ.get(name):
            source.missing_env.append(loc)
            source.add(loc, missing_env_message(name, source))
    return ENV_REFERENCE.sub(lambda match: environ.get(match.group(1), ""), data)


def missing_env_message(name: str, source: Source) -> str:
    message = f"environment variable {name} is not set"
    # Inside a target file the quickest way out is the embedded sandbox.
    hint = "; export it or use --target sandbox" if source.path.parent.name == "targets" else "; export it"
    return message + hint


def is_webhook_url(loc: Loc) -> bool:
    """notify.webhooks[i].url: a secret from the environment, optional (see config/notify.py)."""
    return len(loc) == 4 and loc[:2] == ("notify", "webhooks") and loc[3] == "url"


def webhook_urls(data: Any) -> list[str]:
    """Every webhook URL of a run YAML, to mask wherever it might surface."""
    notify = data.get("notify") if isinstance(data, dict) else None
    hooks = notify.get("webhooks") if isinstance(notify, dict) else None
    if not isinstance(hooks, list):
        return []
    return [hook["url"] for hook in hooks if isinstance(hook, dict) and isinstance(hook.get("url"), str)]


def secrets_in(data: Any, under_secret: bool = False) -> list[str]:
    """Every string under a credentials key, to mask wherever it might surface."""
    if isinstance(data, dict):
        return [s for key, value in data.items() for s in secrets_in(value, under_secret or key == "credentials")]
    if isinstance(data, list):
        return [s for item in data for s in secrets_in(item, under_secret)]
    return [data] if under_secret and isinstance(data, str) else []


def validate(
    source: Source, model: type[BaseModel], data: dict[str, Any], skip: tuple[Loc, ...] = (), **kwargs: Any
) -> BaseModel | None:
    """The model, or None after adding its problem lines (skipping paths already reported)."""
    try:
        return model.model_validate(data, **kwargs)
    except ValidationError as exc:
        skipped = (*source.missing_env, *skip)
        source.problems.extend(validation_lines(exc, source.name, model, source.env_refs, skipped))
        return None


# --- targets ---------------------------------------------------------------------------


def target_folders(config_dir: Path) -> list[Path]:
    """Where target names are looked up: `targets/` beside the config file, then the project's own
    `config/targets/` (the folder the command runs in), so a config copied elsewhere keeps its names."""
    folders = [config_dir / "targets", Path.cwd() / "config" / "targets"]
    unique: dict[Path, Path] = {}
    for folder in folders:
        unique.setdefault(folder.resolve(), folder)
    return list(unique.values())


def target_names(config_dir: Path) -> list[str]:
    return sorted({path.stem for folder in target_folders(config_dir) for path in folder.glob("*.yaml")})


def _named_target(ref: str, config_dir: Path) -> Path:
    """The first `<ref>.yaml` of the target folders (the first folder's path when none has it)."""
    folders = target_folders(config_dir)
    found = [folder / f"{ref}.yaml" for folder in folders if is_file(folder / f"{ref}.yaml")]
    return found[0] if found else folders[0] / f"{ref}.yaml"


def is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):  # a name too long, or with a NUL byte
        return False


def looks_like_path(ref: str) -> bool:
    return "/" in ref or "\\" in ref or ref.endswith((".yaml", ".yml"))


def resolve_target(ref: Any, config_dir: Path, relative_to: Path, report: Source, loc: Loc) -> Path | None:
    """The target file for a name (config/targets/<name>.yaml) or a path; None after a problem line."""
    names = target_names(config_dir)
    listed = ", ".join(names) or "none found"
    where = " or ".join(f"{display_path(folder)}/" for folder in target_folders(config_dir))
    allowed = f"a target name from {where} ({listed}) or a path to a target YAML"
    if not isinstance(ref, str) or not ref.strip():
        report.add(loc, join_message(f"got {show_value(ref)}", allowed))
        return None
    if looks_like_path(ref):
        path = Path(ref).expanduser()
        path = path if path.is_absolute() else relative_to / path
    else:
        path = _named_target(ref, config_dir)
    if not is_file(path):
        guess = None if looks_like_path(ref) else did_you_mean(ref, names)
        report.add(loc, join_message(f"got {show_value(ref)}: no such file {display_path(path)}", allowed, guess))
        return None
    return path


def read_target(path: Path, problems: list[str], environ: Mapping[str, str]) -> TargetConfig | None:
    source = Source(path, problems)
    raw = read_mapping(source, "kind, handle, plan, click_url")
    if raw is None:
        return None
    raw.setdefault("name", path.stem)
    start = len(problems)
    data = expand_env(source, raw, environ)
    target = validate(source, TargetConfig, data)
    # Secrets may sit in the raw text or come from the environment: mask both.
    problems[start:] = masked(problems[start:], secrets_in(data))
    if target is not None:
        target._source = source.name  # type: ignore[union-attr]
    return target  # type: ignore[return-value]


def open_run_yaml(path: str | os.PathLike[str], example: str) -> tuple[Source, dict[str, Any], list[str]]:
    """A run YAML read as a mapping, with the list its problems go to (ConfigError when it is not one)."""
    problems: list[str] = []
    source = Source(Path(path), problems)
    raw = read_mapping(source, example)
    if raw is None:
        raise ConfigError(problems)
    return source, raw, problems


def load_target(path: str | os.PathLike[str], environ: Mapping[str, str] | None = None) -> TargetConfig:
    """One target YAML on its own (ConfigError when it cannot be used)."""
    problems: list[str] = []
    target = read_target(Path(path), problems, os.environ if environ is None else environ)
    if problems or target is None:
        raise ConfigError(problems)
    register_secrets(target)
    return target


def register_secrets(target: TargetConfig) -> None:
    """Tell the redactor the run's own tokens, so they are masked wherever they appear later."""
    if target.credentials is not None:
        redact.register_secret(target.credentials.jwt.get_secret_value())
        redact.register_secret(target.credentials.pat.get_secret_value())


def register_notify_secrets(notify: NotifySettings) -> None:
    """Each webhook URL (and the parts of it that carry its token) is a secret too."""
    for secret in notify.secrets():
        redact.register_secret(secret)


# --- the run ---------------------------------------------------------------------------


def load_run_config(
    path: str | os.PathLike[str],
    target: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> RunConfig:
    """Load the run YAML and its target.

    `target` (e.g. from --target) overrides the file's `target:`; it is a name in
    `<config dir>/targets/` or a path (relative to the working directory; a path written in
    the file is relative to the file). Raises ConfigError listing every problem found.
    """
    environ = os.environ if environ is None else environ
    source, raw, problems = open_run_yaml(path, "target, run, campaigns")
    data = expand_env(source, raw, environ)
    target_config = load_target_for(source, data, target, environ)
    run = validate_run(source, data, target_config)
    problems.extend(duplicate_lines(source, data.get("campaigns")))
    if problems or run is None:
        raise ConfigError(masked(problems, webhook_urls(data)))
    register_secrets(run.target)
    register_notify_secrets(run.notify)
    run._source_path = source.path.resolve()
    return run


def load_target_for(
    source: Source, data: dict[str, Any], override: str | None, environ: Mapping[str, str]
) -> TargetConfig | None:
    config_dir = source.path.parent
    if override is not None:
        # A --target problem is named after the option, not the file.
        report = Source(Path("--target"), source.problems, name="--target")
        path = resolve_target(override, config_dir, Path.cwd(), report, ())
    else:
        path = resolve_target(data.get("target", DEFAULT_TARGET), config_dir, config_dir, source, ("target",))
    return read_target(path, source.problems, environ) if path else None


def validate_run(source: Source, data: dict[str, Any], target: TargetConfig | None) -> RunConfig | None:
    # Without a usable target (already reported) the rest is still validated, so every
    # problem shows in one go; the loader checks duplicates itself, on the raw data.
    data = {**data, "target": target}
    skip = (("target",),) if target is None else ()
    run = validate(source, RunConfig, data, skip, context={"duplicates_checked": True})
    return run  # type: ignore[return-value]


def duplicate_lines(source: Source, campaigns: Any) -> list[str]:
    lines = []
    for dup in find_duplicates(campaigns):
        allowed = f"a {dup.what} used once in the whole file"
        what = f"got {show_value(dup.value)}: already used at {format_path(dup.first_loc)}"
        lines.append(problem_line(source.name, dup.loc, join_message(what, allowed)))
    return lines


# --- the browser block alone (`preflight approve`: no target, no token needed) -------------------


class _BrowserBlock(Strict):
    browser: BrowserSettings = BrowserSettings()

    @classmethod
    def of(cls, raw: dict[str, Any]) -> dict[str, Any]:
        return {"browser": browser_shorthand(raw["browser"])} if raw.get("browser") is not None else {}


def load_browser_settings(path: str | os.PathLike[str], environ: Mapping[str, str] | None = None) -> BrowserSettings:
    """The run YAML's `browser:` block (ConfigError with one line per problem); nothing else is read."""
    source, raw, problems = open_run_yaml(path, "target, run, browser, campaigns")
    data = expand_env(source, _BrowserBlock.of(raw), os.environ if environ is None else environ)
    block = validate(source, _BrowserBlock, data)
    if problems or block is None:
        raise ConfigError(masked(problems))
    return block.browser  # type: ignore[union-attr]


# --- the notify block alone (preflight merge) -------------------------------------------


class NotifyOnly(Strict):
    """The run YAML's `notify:` block, read without its target (a merge job has no tokens)."""

    notify: NotifySettings = Field(default_factory=NotifySettings, description="on, webhooks, remind_every_hours, …")


def load_notify(path: str | os.PathLike[str], environ: Mapping[str, str] | None = None) -> NotifySettings:
    """The `notify:` block of a run YAML (ConfigError, one line per problem, when it cannot be used)."""
    environ = os.environ if environ is None else environ
    source, raw, problems = open_run_yaml(path, "target, run, campaigns, notify")
    data = {"notify": expand_env(source, raw.get("notify") or {}, environ, ("notify",))}
    found = validate(source, NotifyOnly, data)
    if problems or found is None:
        raise ConfigError(masked(problems, webhook_urls(data)))
    register_notify_secrets(found.notify)  # type: ignore[attr-defined]
    return found.notify  # type: ignore[attr-defined]
