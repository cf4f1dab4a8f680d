from kortex_api._device import find_device
from kortex_api.Exceptions.KClientException import KClientException


class TCPTransport:
    def __init__(self) -> None:
        self.device = None

    def connect(self, ip: str, port: int) -> None:
        device = find_device(ip, port)
        if device is None:
            raise KClientException(1, f"connection refused by {ip}:{port}")
        self.device = device

    def disconnect(self) -> None:
        self.device = None
