"""Errors meant for the user: the CLI prints their message without a traceback."""


class UserInputError(ValueError):
    """Bad input the user can fix (text, audio, checkpoint, config, paths).

    The message must name the offending thing and, where possible, say how to fix it.
    """
