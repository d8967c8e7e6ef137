"""Define the errors raised while decoding GB/T 26875.3-2011 traffic."""


class Gb26875Error(Exception):
    """Signal anything wrong in GB/T 26875.3 traffic."""


class MalformedFrameError(Gb26875Error):
    """Report a frame or application data unit that breaks the format.

    The message names the field at fault: the start or end mark, the length,
    the checksum, an object count, a length prefix.
    """


class ChecksumMismatchError(MalformedFrameError):
    """Report a frame whose checksum byte is not the one its bytes give.

    ``expected`` is the checksum computed over the frame, ``found`` the byte
    the frame carries.
    """

    def __init__(self, expected: int, found: int) -> None:
        """Keep the computed and the received checksum."""
        super().__init__(
            f"The checksum is 0x{found:02X}, but the frame's bytes give 0x{expected:02X}"
        )
        self.expected = expected
        self.found = found


class UnknownObjectTypeError(Gb26875Error):
    """Report application data of a type this module cannot decode.

    The frame itself is sound, so the sender is acknowledged all the same:
    sending it again cannot help.
    """

    def __init__(self, type_code: int) -> None:
        """Keep the type code."""
        super().__init__(
            f"Application data type {type_code} is not one this module knows"
        )
        self.type_code = type_code
