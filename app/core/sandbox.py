"""Templates written by people (admins' email templates, organizers' messages, later
certificate designs) render here: Jinja's immutable sandbox, strict about unknown names,
with limits on what one template may build.

The sandbox alone keeps templates away from Python; it does not stop `{{ 9 ** 9 ** 9 }}` or
`{{ "x" * 10 ** 9 }}`, which build a huge value in one step (and Jinja's optimizer would even
compute constant ones while a template is only parsed). Intercepting `*` and `**` stops both
before they are built — intercepted operators are never folded at parse time — and
`render_limited` stops output that grows past a budget, chunk by chunk.
"""

from __future__ import annotations

from jinja2 import StrictUndefined, Template, TemplateError, TemplateSyntaxError, meta
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_EXPONENT = 100
MAX_BUILT = 100_000  # characters or items one `*` may build


class TooLarge(Exception):
    """The output of a template grew past its budget."""


class LimitedSandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset(["*", "**"])

    def call_binop(self, context, operator, left, right):
        if operator == "**" and isinstance(right, int) and abs(right) > MAX_EXPONENT:
            raise SecurityError("This template builds a value that is too large.")
        if operator == "*":
            for sequence, times in ((left, right), (right, left)):
                if (isinstance(sequence, str | list | tuple) and isinstance(times, int)
                        and len(sequence) * times > MAX_BUILT):
                    raise SecurityError("This template builds a value that is too large.")
        return super().call_binop(context, operator, left, right)


text_env = LimitedSandbox(undefined=StrictUndefined, autoescape=False)
html_env = LimitedSandbox(undefined=StrictUndefined, autoescape=True)


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


def render_limited(template: Template, context: dict, limit: int) -> str:
    """Render, stopping as soon as the output passes `limit` characters (TooLarge)."""
    chunks, size = [], 0
    for chunk in template.generate(context):
        size += len(chunk)
        if size > limit:
            raise TooLarge(limit)
        chunks.append(chunk)
    return "".join(chunks)


__all__ = ["LimitedSandbox", "TemplateError", "TooLarge", "html_env", "render_limited",
           "template_problems", "text_env"]
