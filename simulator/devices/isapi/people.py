"""Keep the terminal's persons (``UserInfo``) and their enrolled faces."""

from dataclasses import dataclass
import hashlib
from typing import Final

from simulator.devices.isapi.events import paging_word
from simulator.devices.isapi.jsonbody import (
    JSONFields,
    bad_field,
    employee_numbers,
    int_field,
    optional_text,
    require_object,
    required_text,
)
from simulator.devices.isapi.status import IsapiError, StatusCode
from simulator.jsonvalue import JSONObject, JSONValue

# UserInfo/Search answers at most this many persons per page, whatever was asked.
MAX_SEARCH_RESULTS: Final = 30
# Firmware limits employeeNo to 32 bytes.
_MAX_EMPLOYEE_NO_BYTES: Final = 32
_USER_TYPES: Final = frozenset({"normal", "visitor", "blackList"})
# Fields a search answers for every person, whatever was enrolled.
_DEFAULT_FIELDS: Final[JSONFields] = {
    "userType": "normal",
    "closeDelayEnabled": False,
    "Valid": {
        "enable": False,
        "beginTime": "2000-01-01T00:00:00",
        "endTime": "2037-12-31T23:59:59",
        "timeType": "local",
    },
    "belongGroup": "",
    "doorRight": "1",
    "RightPlan": [{"doorNo": 1, "planTemplateNo": "1"}],
    "maxOpenDoorTime": 0,
    "openDoorTime": 0,
    "localUIRight": False,
    "gender": "unknown",
    "numOfCard": 0,
    "numOfFP": 0,
}
# Sent in, never read back: the device does not reveal a person's password.
_WRITE_ONLY_FIELDS: Final = frozenset({"password"})


@dataclass(frozen=True, slots=True)
class Face:
    """Hold one enrolled face picture."""

    image: bytes
    library_type: str
    library_id: str

    @property
    def sha256(self) -> str:
        """Return the hex SHA-256 of the picture."""
        return hashlib.sha256(self.image).hexdigest()

    @property
    def file_name(self) -> str:
        """Return the name the picture is served under (``faceURL``)."""
        return f"{self.sha256[:32]}.jpg"


@dataclass(slots=True)
class Person:
    """Hold one person: the ``UserInfo`` fields as sent, and their face if any."""

    employee_no: str
    info: JSONFields
    face: Face | None = None

    @property
    def name(self) -> str:
        """Return the person's name ("" when none was given)."""
        name = self.info.get("name")
        return name if isinstance(name, str) else ""

    @property
    def user_type(self) -> str:
        """Return the person's user type (``normal`` unless told otherwise)."""
        user_type = self.info.get("userType")
        return user_type if isinstance(user_type, str) else "normal"

    def to_search_json(self, face_base_url: str) -> JSONObject:
        """Return the person as one ``UserInfoSearch.UserInfo`` entry."""
        entry: JSONObject = {"employeeNo": self.employee_no, "name": self.name}
        entry |= _DEFAULT_FIELDS
        entry |= {
            key: value
            for key, value in self.info.items()
            if key not in _WRITE_ONLY_FIELDS
        }
        entry["numOfFace"] = 1 if self.face else 0
        if self.face is not None:
            entry["faceURL"] = f"{face_base_url}/{self.face.file_name}"
        return entry


def parse_user_info(document: object) -> JSONFields:
    """Validate an ``{"UserInfo": {...}}`` body and return the inner object."""
    info = require_object(document, "UserInfo")
    employee_no = required_text(info, "employeeNo")
    if len(employee_no.encode("utf-8")) > _MAX_EMPLOYEE_NO_BYTES:
        raise IsapiError(
            StatusCode.INVALID_CONTENT, "employeeNoInvalid", "employeeNo too long"
        )
    optional_text(info, "name")
    if (user_type := optional_text(info, "userType")) is not None and (
        user_type not in _USER_TYPES
    ):
        raise bad_field("userType")
    valid = info.get("Valid")
    if valid is not None and (
        not isinstance(valid, dict) or not isinstance(valid.get("enable"), bool)
    ):
        raise bad_field("Valid")
    return dict(info)


def _not_found(employee_no: str) -> IsapiError:
    """Return the error for a person the terminal does not know."""
    return IsapiError(
        StatusCode.INVALID_CONTENT, "employeeNoNotExist", f"no person {employee_no}"
    )


class PersonStore:
    """Hold the persons in enrolment order, within the terminal's capacity."""

    def __init__(self, capacity: int) -> None:
        """Start empty with room for ``capacity`` persons."""
        self.capacity = capacity
        # The control API's set_full: report full whatever the count.
        self.forced_full = False
        self.persons: dict[str, Person] = {}

    @property
    def full(self) -> bool:
        """Say whether another person would be refused."""
        return self.forced_full or len(self.persons) >= self.capacity

    def get(self, employee_no: str) -> Person | None:
        """Return the person with this number, if enrolled."""
        return self.persons.get(employee_no)

    def add(self, info: JSONFields) -> Person:
        """Enrol a new person (``UserInfo/Record``)."""
        employee_no = required_text(info, "employeeNo")
        if employee_no in self.persons:
            raise IsapiError(
                StatusCode.INVALID_CONTENT,
                "employeeNoAlreadyExist",
                f"employeeNo {employee_no} already exists",
            )
        self._require_room()
        person = Person(employee_no, info)
        self.persons[employee_no] = person
        return person

    def modify(self, info: JSONFields) -> Person:
        """Change the given fields of a known person (``UserInfo/Modify``)."""
        employee_no = required_text(info, "employeeNo")
        if (person := self.persons.get(employee_no)) is None:
            raise _not_found(employee_no)
        person.info |= info
        return person

    def set_up(self, info: JSONFields) -> Person:
        """Replace a person's fields, enrolling them if new (``UserInfo/SetUp``)."""
        employee_no = required_text(info, "employeeNo")
        if (person := self.persons.get(employee_no)) is None:
            return self.add(info)
        person.info = info
        return person

    def delete(self, employee_nos: list[str]) -> int:
        """Remove persons and their faces; unknown numbers are skipped."""
        return sum(
            self.persons.pop(number, None) is not None for number in employee_nos
        )

    def delete_all(self) -> int:
        """Remove every person and face; return how many persons there were."""
        count = len(self.persons)
        self.persons.clear()
        return count

    def set_face(self, employee_no: str, face: Face, *, replace: bool) -> None:
        """Store a person's face; without ``replace`` an existing face is an error."""
        if (person := self.persons.get(employee_no)) is None:
            raise _not_found(employee_no)
        if person.face is not None and not replace:
            raise IsapiError(
                StatusCode.INVALID_CONTENT,
                "deviceUserAlreadyExistFace",
                f"person {employee_no} already has a face",
            )
        person.face = face

    def delete_faces(self, employee_nos: list[str]) -> int:
        """Remove the faces of these persons; return how many were removed."""
        removed = 0
        for number in employee_nos:
            if (person := self.persons.get(number)) is not None and person.face:
                person.face = None
                removed += 1
        return removed

    def face_by_file_name(self, file_name: str) -> Face | None:
        """Return the face served under ``file_name``, if any."""
        for person in self.persons.values():
            if person.face is not None and person.face.file_name == file_name:
                return person.face
        return None

    def search(self, document: object, face_base_url: str) -> JSONObject:
        """Answer a ``UserInfoSearchCond``: one page of persons in enrolment order."""
        cond = require_object(document, "UserInfoSearchCond")
        search_id = required_text(cond, "searchID")
        position = int_field(cond, "searchResultPosition", default=0)
        page_size = min(
            int_field(cond, "maxResults", default=MAX_SEARCH_RESULTS),
            MAX_SEARCH_RESULTS,
        )
        wanted = set(employee_numbers(cond))
        fuzzy = optional_text(cond, "fuzzySearch")
        matches = [
            person
            for person in self.persons.values()
            if (not wanted or person.employee_no in wanted)
            and (fuzzy is None or fuzzy in person.name or fuzzy in person.employee_no)
        ]
        page = matches[position : position + page_size]
        result: JSONObject = {
            "searchID": search_id,
            "responseStatusStrg": paging_word(len(matches), position + len(page)),
            "numOfMatches": len(page),
            "totalMatches": len(matches),
        }
        if page:
            entries: list[JSONValue] = [
                person.to_search_json(face_base_url) for person in page
            ]
            result["UserInfo"] = entries
        return {"UserInfoSearch": result}

    def _require_room(self) -> None:
        """Refuse a new person when the terminal is full."""
        if self.full:
            raise IsapiError(
                StatusCode.INVALID_CONTENT,
                "deviceUserAlreadyFull",
                f"the terminal holds at most {self.capacity} persons",
            )
