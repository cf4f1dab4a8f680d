from kortex_api.Exceptions.KServerException import KServerException

ERROR_LOGIN = 16  # stand-in error code for a refused login


class SessionManager:
    def __init__(self, router) -> None:
        self.router = router

    def CreateSession(self, info) -> None:
        device = self.router.transport.device
        if (info.username, info.password) != (device.username, device.password):
            raise KServerException(ERROR_LOGIN, 0, "login refused")
        if info.session_inactivity_timeout <= 0 or info.connection_inactivity_timeout <= 0:
            raise KServerException(3, 0, "inactivity timeouts must be set")
        device.sessions_open += 1
        self.router.session_open = True

    def CloseSession(self) -> None:
        self.router.transport.device.sessions_open -= 1
        self.router.session_open = False
