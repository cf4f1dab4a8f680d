class KServerException(Exception):
    def __init__(self, error_code: int, sub_code: int, message: str) -> None:
        super().__init__(message)
        self._code, self._sub = error_code, sub_code

    def get_error_code(self) -> int:
        return self._code

    def get_error_sub_code(self) -> int:
        return self._sub
