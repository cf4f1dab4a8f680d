class KClientException(Exception):
    def __init__(self, error_code: int, message: str) -> None:
        super().__init__(message)
        self._code = error_code

    def get_error_code(self) -> int:
        return self._code
