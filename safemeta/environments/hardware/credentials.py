"""Arm credentials: read from the environment or a secrets file, never from experiment configs.

The password is held in a :class:`Secret` whose ``repr``/``str`` are masked, so it cannot leak into
logs, actor reprs, pickled configs shown in dashboards, or MLflow params by accident.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

USERNAME_VAR = "KINOVA_USERNAME"
PASSWORD_VAR = "KINOVA_PASSWORD"
SECRETS_FILE_VAR = "KINOVA_SECRETS_FILE"
MASK = "********"


class Secret:
    """A string that does not print itself."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The value (only for the call that needs it, e.g. creating the kortex session)."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK})"

    __str__ = __repr__

    def __reduce__(self):  # pickled (e.g. to a Ray actor) without the value: re-read there
        raise TypeError(
            "credentials are not sent between processes; the actor reads them on its own node "
            f"(${USERNAME_VAR}/${PASSWORD_VAR} or ${SECRETS_FILE_VAR})"
        )


@dataclass(frozen=True)
class Credentials:
    """Username and (masked) password of the arm's web/API account."""

    username: str
    password: Secret

    def __repr__(self) -> str:
        return f"Credentials(username={MASK}, password={MASK})"

    __str__ = __repr__


def load_credentials(secrets_file: str | os.PathLike[str] | None = None) -> Credentials:
    """From ``secrets_file`` (JSON ``{"username", "password"}``), else ``$KINOVA_SECRETS_FILE``,
    else ``$KINOVA_USERNAME`` / ``$KINOVA_PASSWORD``."""
    path = secrets_file or os.environ.get(SECRETS_FILE_VAR)
    if path:
        try:
            data = json.loads(Path(path).read_text())
            return Credentials(str(data["username"]), Secret(str(data["password"])))
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise ValueError(
                f"secrets file {path} must be readable JSON with 'username' and 'password' "
                f"({type(error).__name__})"
            ) from None
    username, password = os.environ.get(USERNAME_VAR), os.environ.get(PASSWORD_VAR)
    if not username or not password:
        raise ValueError(
            f"no arm credentials: set ${USERNAME_VAR} and ${PASSWORD_VAR} on the node wired to "
            f"the arm, or point ${SECRETS_FILE_VAR} (or secrets_file=) at a JSON file with "
            "'username' and 'password'; never put them in experiment files"
        )
    return Credentials(username, Secret(password))
