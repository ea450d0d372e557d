"""Domain errors: raised by models and services, turned into messages or status codes by views."""


class DomainError(Exception):
    """A rule of the domain refused an operation; the message is shown to the person."""

    status_code = 400

    def __init__(self, message: str, field: str | None = None):
        # Plain text, translated now: a lazy string counts as ready-made HTML to Jinja (it has
        # __html__, and stays Markup through a flash), so names inside it would go unescaped.
        text = str(message)
        super().__init__(text)
        self.message = text
        self.field = field


class ValidationError(DomainError):
    """Input that breaks a rule; `field` names the form field when there is one."""

    status_code = 400


class PermissionDenied(DomainError):
    status_code = 403


class InvalidTransition(DomainError):
    """A state change that the state machine does not allow from the current state."""

    status_code = 409
