class RouterClientSendOptions:
    def __init__(self) -> None:
        self.timeout_ms = 10000


class RouterClient:
    def __init__(self, transport, error_callback) -> None:
        self.transport = transport
        self.error_callback = error_callback
        self.session_open = False

    @property
    def device(self):
        if self.transport.device is None or not self.session_open:
            from kortex_api.Exceptions.KClientException import KClientException

            raise KClientException(2, "no session")
        return self.transport.device
