"""The one error type for configuration mistakes."""


class ConfigError(ValueError):
    """A mistake in what the user asked for (a preset, an option, a template, a path).

    Raised before any engine starts or any job is submitted; its message says what to change.
    The command line prints it as one clean line and exits non-zero, without a traceback.
    """
