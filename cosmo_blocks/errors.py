"""The error types the command line prints as one clean line: a configuration mistake, a failed run."""


class ConfigError(ValueError):
    """A mistake in what the user asked for (a preset, an option, a template, a path).

    Raised before any engine starts or any job is submitted; its message says what to change.
    The command line prints it as one clean line and exits non-zero, without a traceback.
    """


class RunFailed(RuntimeError):
    """Tasks of a stage did not complete. Their logs hold the tracebacks; the message names the stage,
    the tasks and what to do (`cosmo status`, rerun to resume), so the command line prints only it."""
