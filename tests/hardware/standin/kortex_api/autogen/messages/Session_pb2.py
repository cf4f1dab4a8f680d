class CreateSessionInfo:
    def __init__(self) -> None:
        self.username = ""
        self.password = ""
        self.session_inactivity_timeout = 0
        self.connection_inactivity_timeout = 0
