"""Every template a person writes (admins' email templates, organizers' messages, certificate
designs) renders here: Jinja's immutable sandbox, strict about unknown names, with three
budgets.

- Size: no value a template builds may pass MAX_VALUE characters (or items), whatever
  builds it. The sandbox alone keeps templates away from Python, not from `'x' * 10 ** 9`,
  from doubling a string with `~` or `+` ten times, or from `|replace` and `.join`
  multiplying a short text; each of those is one C call that no timer can interrupt. So
  every way a value is built is checked BEFORE it is built where one step can amplify
  (`*`, `**`, `+`, `%`, `~`, `.format`, the string methods that pad, replace or join, the
  filters that do the same, `range`), and every result is measured after: operators
  (intercepted, so never folded while parsing), concatenation (`~`, through the code
  generator), method calls (`call`), filters (wrapped), macro and block output (`concat`),
  and printed output (`finalize`). `measure` counts a value as printed, containers
  included, so `[big] * 1000` is as large as the text it would print.
- Output: `render_limited` stops a rendering as soon as its output passes a budget.
- Time: `render` runs within a CPU deadline (TEMPLATE_RENDER_SECONDS, app/core/deadline.py),
  for previews and for each message at send time.

Failures come back as RenderFailed, whose message says what to change, for the person.
"""

from __future__ import annotations

import functools
import itertools
import re
import types
from collections import deque
from collections.abc import Callable, Mapping, MappingView
from typing import TypeVar

from flask import current_app, has_app_context
from flask_babel import gettext as _
from jinja2 import StrictUndefined, Template, TemplateError, TemplateSyntaxError, meta
from jinja2.compiler import CodeGenerator
from jinja2.exceptions import SecurityError
from jinja2.filters import FILTERS
from jinja2.sandbox import (
    ImmutableSandboxedEnvironment,
    SandboxedEscapeFormatter,
    SandboxedFormatter,
)
from jinja2.utils import Namespace
from markupsafe import Markup

from app.core.deadline import TookTooLong, run_with_deadline
from app.core.errors import DomainError

T = TypeVar("T")

MAX_VALUE = 1_000_000  # characters (or items) of any one value a template builds
MAX_RANGE = 10_000  # items one range() may produce
MAX_INT_BITS = 10_000  # about 3,000 digits
DEFAULT_SECONDS = 3.0  # TEMPLATE_RENDER_SECONDS when no app is configured


class ValueTooLarge(SecurityError):
    """A template tried to build a value past MAX_VALUE."""

    def __init__(self, message: str = "This template builds a value that is too large."):
        super().__init__(message)


class RangeTooLarge(ValueTooLarge):
    def __init__(self):
        super().__init__(f"range() may produce at most {MAX_RANGE} items.")


class TooLarge(Exception):
    """The output of a template grew past its budget."""

    def __init__(self, limit: int):
        super().__init__(limit)
        self.limit = limit


class RenderFailed(DomainError):
    """A template that cannot be rendered; the message says why, for the person who wrote it."""


# --- Measuring


def measure(value, budget: int = MAX_VALUE) -> int:
    """About how many characters `value` takes once printed, containers included; counting
    stops once past `budget`, so a measure costs at most `budget` steps (every item counts
    at least one, so even a namespace that holds itself is measured)."""
    if type(value) is str:
        return len(value)
    total = 0
    pending = [iter((value,))]
    while pending:
        item = next(pending[-1], _END)
        if item is _END:
            pending.pop()
            continue
        if isinstance(item, str | bytes | bytearray):
            total += len(item) + 2
        elif isinstance(item, bool) or item is None:
            total += 5
        elif isinstance(item, int):
            total += item.bit_length() // 3 + 2
        elif isinstance(item, float):
            total += 24
        elif isinstance(item, Mapping):
            total += 2
            pending.append(iter(item.items()))
        elif isinstance(item, MappingView | list | tuple | set | frozenset | deque):
            total += 2
            pending.append(iter(item))
        elif isinstance(item, Namespace):
            total += 12
            pending.append(iter(item._Namespace__attrs.items()))
        else:
            total += 2
        if total > budget:
            break
    return total


_END = object()


def within_budget(size: int) -> None:
    if size > MAX_VALUE:
        raise ValueTooLarge


def checked(value: T) -> T:
    """`value`, if it is within the budget once printed."""
    if isinstance(value, str):  # most values: one length, no walk
        if len(value) > MAX_VALUE:
            raise ValueTooLarge
        return value
    within_budget(measure(value))
    return value


def _length(value) -> int:
    return len(value) if isinstance(value, str | bytes | bytearray) else measure(value)


def _materialised(iterable) -> list:
    """An iterable as a list of at most MAX_VALUE items (a join consumes it twice)."""
    if isinstance(iterable, str | bytes | bytearray):
        return list(iterable[:MAX_VALUE + 1])
    items = list(itertools.islice(iter(iterable), MAX_VALUE + 1))
    within_budget(len(items))
    return items


# --- Budgets of the steps that can amplify


def _check_repeat(left, right) -> None:
    """`*`: a sequence repeated, or two numbers multiplied."""
    if isinstance(left, int) and isinstance(right, int):
        if left.bit_length() + right.bit_length() > MAX_INT_BITS:
            raise ValueTooLarge
        return
    for sequence, times in ((left, right), (right, left)):
        if isinstance(times, int) and not isinstance(sequence, int | float):
            within_budget(measure(sequence) * max(times, 0))


def _check_power(base, exponent) -> None:
    if (isinstance(base, int) and isinstance(exponent, int) and abs(base) > 1
            and base.bit_length() * exponent > MAX_INT_BITS):
        raise ValueTooLarge


_PERCENT = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")


def _check_percent(template, arguments) -> None:
    """`%` on text: widths and precisions, and the arguments printed in full."""
    size = _length(template) + measure(arguments)
    text = template.decode("latin-1") if isinstance(template, bytes | bytearray) else template
    for width, precision in _PERCENT.findall(str(text)):
        for number in (width, precision):
            if number == "*":
                values = arguments if isinstance(arguments, tuple) else (arguments,)
                size += sum(abs(v) for v in values if isinstance(v, int))
            elif number:
                size += int(number) if len(number) < 10 else MAX_VALUE + 1
        within_budget(size)
    within_budget(size)


def _pad_width(width) -> None:
    within_budget(width if isinstance(width, int) else 0)


def _check_replace(text, old, new, count=-1) -> None:
    times = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        times = min(times, count)
    within_budget(len(text) + times * max(0, _length(new) - _length(old)))


def _check_indent(text: str, width) -> None:
    width = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
    within_budget(len(text) + (text.count("\n") + 1) * max(width, 0))


# str, bytes and Markup methods that can make much more than they are given: the budget is
# checked with their arguments before they run. Each takes (self, args, kwargs) and returns
# the (args, kwargs) to call with.


def _method_pad(owner, args, kwargs):
    _pad_width(args[0] if args else kwargs.get("width", 0))
    return args, kwargs


def _method_expandtabs(owner, args, kwargs):
    size = args[0] if args else kwargs.get("tabsize", 8)
    tab = b"\t" if isinstance(owner, bytes | bytearray) else "\t"
    if isinstance(size, int):
        within_budget(len(owner) + owner.count(tab) * size)
    return args, kwargs


def _method_replace(owner, args, kwargs):
    if len(args) >= 2:
        _check_replace(owner, args[0], args[1], args[2] if len(args) > 2 else -1)
    return args, kwargs


def _method_join(owner, args, kwargs):
    if not args:
        return args, kwargs
    items = _materialised(args[0])
    within_budget(measure(items) + len(owner) * len(items))
    return (items, *args[1:]), kwargs


def _method_translate(owner, args, kwargs):
    table = args[0] if args else None
    values = table.values() if isinstance(table, Mapping) else (
        table if isinstance(table, list | tuple) else ())
    longest = max((_length(value) for value in values), default=1)
    within_budget(len(owner) * max(longest, 1))
    return args, kwargs


def _method_to_bytes(owner, args, kwargs):
    _pad_width(args[0] if args else kwargs.get("length", 1))
    return args, kwargs


TEXT_METHODS: dict[str, Callable] = {
    "center": _method_pad, "ljust": _method_pad, "rjust": _method_pad, "zfill": _method_pad,
    "expandtabs": _method_expandtabs, "replace": _method_replace, "join": _method_join,
    "translate": _method_translate,
}


# --- Filters: Jinja's own, each checked before (where one call can amplify) and after


def _bounded_filter(func: Callable, guard: Callable | None = None) -> Callable:
    """`func` with the value it is given and the value it returns measured, and `guard`
    (given the same arguments, returning those to call with) for one that amplifies."""
    passes_state = hasattr(func, "jinja_pass_arg")

    @functools.wraps(func)
    def bounded(*args, **kwargs):
        state, rest = (args[:1], args[1:]) if passes_state else ((), args)
        if rest:
            within_budget(measure(rest[0]))
        if guard is not None:
            rest, kwargs = guard(state, rest, kwargs)
        return checked(func(*state, *rest, **kwargs))

    return bounded


def _argument(rest, kwargs, index: int, name: str, default=None):
    if len(rest) > index:
        return rest[index]
    return kwargs.get(name, default)


def _filter_center(state, rest, kwargs):
    _pad_width(_argument(rest, kwargs, 1, "width", 80))
    return rest, kwargs


def _filter_indent(state, rest, kwargs):
    _check_indent(str(rest[0]), _argument(rest, kwargs, 1, "width", 4))
    return rest, kwargs


def _filter_join(state, rest, kwargs):
    items = _materialised(rest[0])
    separator = _argument(rest, kwargs, 1, "d", "")
    within_budget(measure(items) + _length(separator) * len(items))
    return (items, *rest[1:]), kwargs


def _filter_replace(state, rest, kwargs):
    if len(rest) >= 3:
        count = _argument(rest, kwargs, 3, "count", -1)
        _check_replace(str(rest[0]), str(rest[1]), str(rest[2]),
                       count if count is not None else -1)
    return rest, kwargs


def _filter_wordwrap(state, rest, kwargs):
    text = str(rest[0])
    width = _argument(rest, kwargs, 1, "width", 79)
    wrap = _argument(rest, kwargs, 3, "wrapstring") or state[0].newline_sequence
    lines = text.count("\n") + 1
    if not isinstance(width, int) or width < len(text):
        lines += len(text)
    within_budget(len(text) + lines * _length(wrap))
    return rest, kwargs


def _filter_format(state, rest, kwargs):
    _check_percent(str(rest[0]), kwargs or tuple(rest[1:]))
    return rest, kwargs


def _filter_urlize(state, rest, kwargs):
    text = str(rest[0])
    extra = sum(_length(_argument(rest, kwargs, index, name) or "")
                for index, name in ((3, "target"), (4, "rel")))
    within_budget(len(text) * 3 + len(text.split()) * (extra + 64))
    return rest, kwargs


def _filter_count(index: int, name: str):
    def guard(state, rest, kwargs):
        _pad_width(_argument(rest, kwargs, index, name, 1))
        return rest, kwargs

    return guard


def _filter_tojson(state, rest, kwargs):
    indent = _argument(rest, kwargs, 1, "indent")
    width = len(indent) if isinstance(indent, str) else indent if isinstance(indent, int) else 0
    if width > 8:
        raise ValueTooLarge("tojson indents by at most 8.")
    return rest, kwargs


FILTER_GUARDS: dict[str, Callable] = {
    "center": _filter_center, "indent": _filter_indent, "join": _filter_join,
    "replace": _filter_replace, "wordwrap": _filter_wordwrap, "format": _filter_format,
    "urlize": _filter_urlize, "batch": _filter_count(1, "linecount"),
    "slice": _filter_count(1, "slices"), "tojson": _filter_tojson,
}


def bounded_range(*args) -> range:
    values = range(*args)
    if len(values) > MAX_RANGE:
        raise RangeTooLarge
    return values


# --- The environment


class _BoundedFormatting:
    """str.format and format_map: each field's width and printed size counted, in total."""

    def __init__(self, env, size: int, **kwargs):
        super().__init__(env, **kwargs)
        self.size = size

    def convert_field(self, value, conversion):
        within_budget(self.size + measure(value))
        return super().convert_field(value, conversion)

    def format_field(self, value, format_spec):
        widths = sum(int(n) if len(n) < 10 else MAX_VALUE + 1
                     for n in re.findall(r"\d+", format_spec))
        self.size += measure(value) + widths
        within_budget(self.size)
        return super().format_field(value, format_spec)


class _BoundedFormatter(_BoundedFormatting, SandboxedFormatter):
    pass


class _BoundedEscapeFormatter(_BoundedFormatting, SandboxedEscapeFormatter):
    pass


class _CodeGenerator(CodeGenerator):
    """`~` through LimitedSandbox.checked_concat, which measures before it joins."""

    def visit_Concat(self, node, frame) -> None:  # noqa: N802 (Jinja's visitor name)
        if frame.eval_ctx.volatile:
            join = "(markup_join if context.eval_ctx.volatile else str_join)"
        elif frame.eval_ctx.autoescape:
            join = "markup_join"
        else:
            join = "str_join"
        self.write(f"environment.checked_concat({join}, (")
        for argument in node.nodes:
            self.visit(argument, frame)
            self.write(", ")
        self.write("))")


def _bounded_concat(pieces) -> str:
    """Macro, call, `{% set %}` block and `{% filter %}` output, joined within the budget."""
    joined, size = [], 0
    for piece in pieces:
        size += len(piece)
        within_budget(size)
        joined.append(piece)
    return "".join(joined)


class LimitedSandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset(["+", "*", "**", "%"])
    code_generator_class = _CodeGenerator
    concat = staticmethod(_bounded_concat)

    def __init__(self, **options):
        super().__init__(finalize=checked, **options)
        self.globals["range"] = bounded_range
        self.globals.pop("lipsum", None)  # builds text of any size
        self.filters.update({name: _bounded_filter(func, FILTER_GUARDS.get(name))
                             for name, func in FILTERS.items()})

    def call_binop(self, context, operator, left, right):
        if operator == "**":
            _check_power(left, right)
        elif operator == "*":
            _check_repeat(left, right)
        elif operator == "%" and isinstance(left, str | bytes | bytearray):
            _check_percent(left, right)
        elif operator == "+" and not (isinstance(left, int | float)
                                      and isinstance(right, int | float)):
            within_budget(measure(left) + measure(right))
        return checked(super().call_binop(context, operator, left, right))

    def checked_concat(self, join: Callable, values: tuple) -> str:
        within_budget(sum(measure(value) for value in values))
        return join(values)

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 (Jinja's signature)
        if not __self.is_safe_callable(__obj):
            raise SecurityError(f"{__obj!r} is not safely callable")
        owner = getattr(__obj, "__self__", None)
        name = getattr(__obj, "__name__", "")
        if isinstance(owner, str | bytes | bytearray) and name in TEXT_METHODS:
            args, kwargs = TEXT_METHODS[name](owner, args, kwargs)
        elif isinstance(owner, int) and name == "to_bytes":
            args, kwargs = _method_to_bytes(owner, args, kwargs)
        return checked(__context.call(__obj, *args, **kwargs))

    def wrap_str_format(self, value):
        """str.format and format_map through a formatter that counts what it builds (the
        same as Jinja's own, with _BoundedFormatting)."""
        if not isinstance(value, types.MethodType | types.BuiltinMethodType) or (
                value.__name__ not in ("format", "format_map")):
            return None
        text = value.__self__
        if not isinstance(text, str):
            return None
        is_format_map = value.__name__ == "format_map"
        if isinstance(text, Markup):
            formatter = _BoundedEscapeFormatter(self, len(text), escape=text.escape)
        else:
            formatter = _BoundedFormatter(self, len(text))

        @functools.wraps(value)
        def bounded_format(*args, **kwargs):
            if is_format_map:
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one argument")
                args, kwargs = (), args[0]
            formatter.size = len(text)
            return type(text)(formatter.vformat(text, args, kwargs))

        return bounded_format


text_env = LimitedSandbox(undefined=StrictUndefined, autoescape=False)
html_env = LimitedSandbox(undefined=StrictUndefined, autoescape=True)


# --- Checking and rendering


def template_problems(source: str, allowed: set[str] | frozenset[str],
                      env: LimitedSandbox = text_env) -> list[str]:
    """What is wrong with `source`: a syntax error (with its line), or names that are not in
    `allowed` (with the list of those that are). Empty when it may be saved."""
    try:
        parsed = env.parse(source)
    except TemplateSyntaxError as error:
        return [f"Line {error.lineno}: {error.message}"]
    unknown = sorted(meta.find_undeclared_variables(parsed) - set(allowed))
    if not unknown:
        return []
    plural = "s" if len(unknown) > 1 else ""
    return [f"Unknown variable{plural}: {', '.join(unknown)}. "
            f"Available: {', '.join(sorted(allowed)) or 'none'}."]


@functools.lru_cache(maxsize=512)
def compiled(source: str, html: bool = False) -> Template:
    """Compiled once per source: a site sends the same few templates again and again, and a
    bulk run renders one certificate design hundreds of times."""
    return (html_env if html else text_env).from_string(source)


def render_limited(template: Template, context: dict, limit: int) -> str:
    """Render, stopping as soon as the output passes `limit` characters (TooLarge)."""
    chunks, size = [], 0
    for chunk in template.generate(context):
        size += len(chunk)
        if size > limit:
            raise TooLarge(limit)
        chunks.append(chunk)
    return "".join(chunks)


def render_seconds() -> float:
    """How long the templates of one preview or one message may take (CPU seconds)."""
    if not has_app_context():
        return DEFAULT_SECONDS
    return float(current_app.config.get("TEMPLATE_RENDER_SECONDS", DEFAULT_SECONDS))


def within_deadline(func: Callable[[], T]) -> T:
    """Run `func` (the renders of one preview or one message) within render_seconds()."""
    seconds = render_seconds()
    try:
        return run_with_deadline(func, seconds)
    except TookTooLong:
        raise RenderFailed(_("This template took too long to render (more than %(seconds)g "
                             "seconds): check its loops.", seconds=seconds)) from None


def render_source(source: str, context: dict, *, html: bool = False, limit: int = MAX_VALUE,
                  field: str | None = None) -> str:
    """`source` rendered with `context`, or RenderFailed (for `field`) saying why. Call it
    within_deadline, or use `render`."""
    try:
        return render_limited(compiled(source, html), context, limit)
    except TooLarge as error:
        raise RenderFailed(_("This template produces more than %(max)s characters: check "
                             "its loops.", max=f"{limit:,}"), field=field) from error
    except RangeTooLarge as error:
        raise RenderFailed(_("range() may produce at most %(max)s items in a template.",
                             max=f"{MAX_RANGE:,}"), field=field) from error
    except (ValueTooLarge, MemoryError) as error:
        raise RenderFailed(_("This template builds a value that is too large (more than "
                             "%(max)s characters): check its loops, joins and replacements.",
                             max=f"{MAX_VALUE:,}"), field=field) from error
    except SecurityError as error:
        raise RenderFailed(_("This template is not allowed to do that: %(reason)s",
                             reason=error), field=field) from error
    except TemplateError as error:
        line = getattr(error, "lineno", None)
        message = getattr(error, "message", None) or str(error)
        text = _("Line %(line)s: %(message)s", line=line, message=message) if line else message
        raise RenderFailed(text, field=field) from error
    except RecursionError as error:
        raise RenderFailed(_("This template calls itself without end."),
                           field=field) from error
    except Exception as error:  # whatever Python raises inside a filter or a method
        raise RenderFailed(_("This template cannot be rendered: %(error)s", error=str(error)),
                           field=field) from error


def render(source: str, context: dict, *, html: bool = False, limit: int = MAX_VALUE,
           field: str | None = None) -> str:
    """One template rendered within every budget (size, output, time), or RenderFailed."""
    return within_deadline(
        lambda: render_source(source, context, html=html, limit=limit, field=field))


__all__ = ["MAX_RANGE", "MAX_VALUE", "LimitedSandbox", "RenderFailed", "TemplateError",
           "TooLarge", "ValueTooLarge", "compiled", "html_env", "measure", "render",
           "render_limited", "render_seconds", "render_source", "template_problems",
           "text_env", "within_deadline"]
