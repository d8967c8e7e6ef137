"""Name the JSON shapes that scenario files, descriptions and the control API use."""

type JSONValue = (
    str | int | float | bool | list[JSONValue] | dict[str, JSONValue] | None
)
type JSONObject = dict[str, JSONValue]
