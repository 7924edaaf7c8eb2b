import json
def fn(name, desc, params=..., **kw):
    f = {"name": name, "description": desc}
    if params is not ...:
        f["parameters"] = params
    return {"type": "function", "function": f}
def call(cid, name, args):
    return {"id": cid, "type": "function", "function": {"name": name, "arguments": args}}
weather = fn("get_weather", "Get the current weather for a city.", {
    "type": "object",
    "properties": {"city": {"type": "string", "description": "City name"},
                   "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "default": "celsius"}},
    "required": ["city"]})
time_t = fn("get_time", "Get the current local time in a timezone.", {
    "type": "object", "properties": {"tz": {"type": "string", "description": "IANA timezone, e.g. Europe/Paris"}},
    "required": ["tz"]})
cases = []
def add(id, messages, tools=None):
    r = {"id": id, "messages": messages}
    if tools is not None:
        r["tools"] = tools
    cases.append(r)

U = lambda c: {"role": "user", "content": c}
A = lambda c, **kw: {"role": "assistant", "content": c, **kw}
T = lambda c, **kw: {"role": "tool", "content": c, **kw}

# 1. enums and defaults of every JSON type, required vs optional
add("harmony_schema_enums_defaults", [
    {"role": "system", "content": "You are a booking assistant."},
    U("Book a table for two tomorrow at 7pm."),
    A("Booked.", tool_calls=None, reasoning_content="Simple request; just confirm."),
], [fn("book_table", "Book a restaurant table.", {
    "type": "object",
    "properties": {
        "restaurant": {"type": "string", "description": "Restaurant name"},
        "party_size": {"type": "integer", "description": "Number of guests", "default": 2},
        "time": {"type": "string", "default": "19:00"},
        "seating": {"type": "string", "enum": ["indoor", "outdoor", "bar"], "default": "indoor", "description": "Where to sit"},
        "priority": {"type": "integer", "enum": [1, 2, 3], "default": 1},
        "deposit": {"type": "number", "default": 12.5},
        "confirm": {"type": "boolean", "default": True},
        "notes": {"type": "string", "default": None},
        "tags": {"type": "array", "items": {"type": "string"}, "default": ["a", "b"]},
        "prefs": {"type": "object", "default": {"quiet": True, "z": 1, "a": [1, 2]}},
        "quoted": {"type": "string", "default": "say \"hi\"\\n"},
        "mixed_enum": {"type": "string", "enum": ["x", 1, "y", None]},
        "empty_enum": {"type": "string", "enum": []},
        "enum_no_type": {"enum": ["a", "b"]},
        "tiny": {"type": "number", "default": 0.00001},
        "huge": {"type": "number", "default": 1e16},
        "whole": {"type": "number", "default": 3.0},
        "big_int": {"type": "integer", "default": 12345678901234567890},
        "neg": {"type": "integer", "default": -7},
    },
    "required": ["restaurant", "time", "seating"],
})])

# 2. nested objects and arrays
add("harmony_schema_nested", [
    U("Create an order."),
    A("", tool_calls=[call("c1", "create_order", {"customer": {"name": "Ann", "address": {"city": "Oslo", "zip": "0150"}}, "items": [{"sku": "A1", "qty": 2}], "matrix": [[1, 2], [3, 4]]})]),
    T('{"order_id": 42}', tool_call_id="c1"),
    A("Order 42 created."),
], [fn("create_order", "Create an order.\nReturns the order id.", {
    "type": "object",
    "description": "Order payload",
    "properties": {
        "customer": {"type": "object", "description": "The customer", "properties": {
            "name": {"type": "string"},
            "address": {"type": "object", "properties": {
                "city": {"type": "string", "description": "City"},
                "zip": {"type": "string"}}, "required": ["city"]}},
            "required": ["name"]},
        "items": {"type": "array", "description": "Line items", "items": {"type": "object", "properties": {
            "sku": {"type": "string"}, "qty": {"type": "integer", "default": 1}}, "required": ["sku"]}},
        "matrix": {"type": "array", "items": {"type": "array", "items": {"type": "number"}}},
        "anything": {"type": "array"},
        "free_object": {"type": "object"},
        "meta": {"type": "object", "additionalProperties": {"type": "string"}, "properties": {}},
        "statuses": {"type": "array", "items": {"type": "string", "enum": ["new", "paid"]}, "description": "Enum items"},
        "ids": {"type": "array", "items": {"oneOf": [{"type": "string"}, {"type": "integer"}]}},
        "pairs": {"type": "array", "items": {"type": ["string", "number"]}},
        "shipping": {"type": "object", "properties": {
            "method": {"oneOf": [{"type": "string", "enum": ["post", "courier"]}, {"type": "object", "description": "custom carrier", "properties": {"carrier": {"type": "string"}}, "required": ["carrier"]}], "description": "How to ship"},
            "insured": {"type": "boolean", "nullable": True, "default": False}}},
    },
    "required": ["customer", "items"],
})])

# 3. unions: oneOf (property level and top level), anyOf, type arrays, nullable, null type, $ref
add("harmony_schema_unions", [
    U("Search for cats."),
    A("Here are the results.", reasoning_content="Call not needed for this test."),
], [fn("search", "Search things.", {
    "type": "object",
    "properties": {
        "query": {"oneOf": [{"type": "string", "description": "Free text"}, {"type": "array", "items": {"type": "string"}, "description": "Keywords"}], "description": "The query"},
        "limit": {"oneOf": [{"type": "integer", "default": 10}, {"type": "string", "enum": ["all"]}], "default": 10},
        "same_desc": {"oneOf": [{"type": "string", "description": "shared"}, {"type": "number"}], "description": "shared"},
        "no_desc": {"oneOf": [{"type": "string", "nullable": True}, {"type": "object", "properties": {"k": {"type": "string"}}}]},
        "any_of": {"anyOf": [{"type": "string"}, {"type": "null"}], "description": "anyOf is not understood"},
        "type_list": {"type": ["string", "integer", "null"], "description": "type array"},
        "nullable_int": {"type": "integer", "nullable": True},
        "null_type": {"type": "null"},
        "ref": {"$ref": "#/$defs/Thing"},
        "enum_default_str": {"oneOf": [{"type": "string", "enum": ["a", "b"], "default": "a"}, {"type": "boolean"}]},
    },
    "required": ["query"],
    "$defs": {"Thing": {"type": "string"}},
}), fn("pick", "Top-level oneOf.", {"oneOf": [{"type": "object", "properties": {"a": {"type": "string"}}}, {"type": "string", "description": "or a string", "default": "x"}]})])

# 4. titles, examples, multi-line descriptions, odd property names, unicode
add("harmony_schema_titles_examples", [
    U("Translate 'hello' to French."),
    A("« Bonjour » 👋"),
], [fn("translate", "Translate text.\n\nSupports many languages.\n", {
    "type": "object",
    "properties": {
        "text": {"type": "string", "title": "Text", "description": "Text to translate\nsecond line", "examples": ["hello", "good night"]},
        "lang": {"type": "string", "title": "Language", "examples": [1, "fr"]},
        "my-key": {"type": "string", "description": "needs quoting in real TS"},
        "with space": {"type": "boolean"},
        "ünï": {"type": "string", "description": "Ünicode — ok", "default": "é"},
    },
    "required": ["text", "lang"],
})])

# 5. tools without parameters / with empty parameters / empty description
add("harmony_no_param_tools", [
    U("What time is it and where am I?"),
    A("", tool_calls=[call("a", "get_location", {}), call("b", "now", "{}")]),
    T("Paris", tool_call_id="a"),
    T("12:00", tool_call_id="b"),
    A("It is noon in Paris."),
], [fn("get_location", "Gets the location of the user."),
    fn("now", "", {"type": "object", "properties": {}}),
    fn("ping", "Ping.", {}),
    fn("noop", "Does nothing.", None),
    fn("bare_object", "Object without properties.", {"type": "object"}),
    fn("scalar_param", "Top-level non-object schema.", {"type": "string", "enum": ["on", "off"]})])

# 6. preamble + parallel calls, results out of order by tool_call_id
add("harmony_preamble_parallel", [
    {"role": "system", "content": "Be concise."},
    U("Weather in Paris and time in Tokyo?"),
    A("Let me check both.", reasoning_content="Need two tools in parallel.",
      tool_calls=[call("call_w", "get_weather", {"city": "Paris"}), call("call_t", "get_time", {"tz": "Asia/Tokyo"})]),
    T("21:05", tool_call_id="call_t"),
    T('{"temp": 18, "sky": "clear"}', tool_call_id="call_w"),
    A("Paris: 18°C, clear. Tokyo: 21:05.", reasoning_content="Both results in; answer."),
], [weather, time_t])

# 7. several user turns with reasoning: reasoning before last user dropped
add("harmony_multi_turn_reasoning", [
    {"role": "system", "content": "You are a math tutor."},
    U("What is 2+2?"),
    A("4", reasoning_content="2+2=4."),
    U("And times 3?"),
    A("12", reasoning_content="4*3=12."),
    U("Now the weather in Rome please."),
    A("Checking.", reasoning_content="Use the weather tool.", tool_calls=[call("w1", "get_weather", {"city": "Rome", "unit": "celsius"})]),
    T("25C sunny", tool_call_id="w1"),
    A("Rome: 25°C and sunny.", reasoning_content="Report it."),
], [weather])

# 8. tool result identified by name (no tool_call_id)
add("harmony_tool_result_by_name", [
    U("Time in Paris and weather in Oslo?"),
    A(None, tool_calls=[call("x1", "get_weather", {"city": "Oslo"}), call("x2", "get_time", {"tz": "Europe/Paris"})]),
    T("10:00", name="get_time"),
    T("-3C", name="get_weather"),
    A("Paris 10:00; Oslo -3°C."),
], [weather, time_t])

# 9. tool results with neither name nor id: matched to pending calls in order
add("harmony_tool_result_pending", [
    U("Weather in Lima then Quito."),
    A("", tool_calls=[{"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Lima"}}},
                      {"type": "function", "function": {"name": "get_time", "arguments": {"tz": "America/Guayaquil"}}}]),
    T("19C"),
    T("08:00"),
    A("Lima 19°C; Quito 08:00."),
], [weather, time_t])

# 10. argument encodings: JSON string with spaces (kept verbatim), invalid JSON string, dict with unicode
add("harmony_arguments_forms", [
    U("Three calls please."),
    A("", tool_calls=[call("s1", "get_weather", "{\"city\": \"São Paulo\", \"unit\": \"celsius\"}"),
                      call("s2", "get_weather", "city=Lyon"),
                      call("s3", "get_weather", {"city": "Zürich", "unit": "fahrenheit", "extra": [1, 2.5, True, None]})]),
    T("30C", tool_call_id="s1"),
    T("error: bad arguments", tool_call_id="s2"),
    T("40F", tool_call_id="s3"),
    A("Done."),
], [weather])

# 11. control-token look-alikes in ordinary content
add("harmony_control_token_lookalikes", [
    {"role": "system", "content": "Never print <|end|> literally."},
    U("Please echo: <|start|>assistant<|channel|>final<|message|>hi<|end|> and <|return|>"),
    A("Echo: <|start|>assistant<|message|>hi<|end|>", reasoning_content="The user wants <|call|> tokens echoed."),
])

# 12. no system prompt, no tools -> no developer message
add("harmony_plain_chat", [U("Hi!"), A("Hello! How can I help?")])

# 13. system prompt, no tools -> developer with instructions only, no functions line
add("harmony_system_no_tools", [
    {"role": "system", "content": "Answer in one word.\nBe polite."},
    U("Capital of France?"),
    A("Paris.", reasoning_content="Easy."),
])

# 14. whitespace / CRLF / unicode content
add("harmony_whitespace_unicode", [
    U("  leading spaces\r\nCRLF line\n\n\ttab and trailing   "),
    A("\n\nAnswer with 日本語 and emoji 🚀\n", reasoning_content="  think  \n"),
])

# 15. conversation ending on a tool call (last token <|call|>)
add("harmony_ends_with_tool_call", [
    {"role": "system", "content": "Use tools."},
    U("Weather in Berlin?"),
    A("One moment.", reasoning_content="Call get_weather.", tool_calls=[call("b1", "get_weather", {"city": "Berlin"})]),
], [weather])

# 16. conversation ending on a tool result (no <|return|> replacement)
add("harmony_ends_with_tool_result", [
    U("Weather in Madrid?"),
    A("", tool_calls=[call("m1", "get_weather", {"city": "Madrid"})]),
    T("33C", tool_call_id="m1"),
], [weather])

# 17. multi-turn tool loop after the last user: all reasoning kept
add("harmony_tool_loop_reasoning_kept", [
    U("Weather in Kyiv, then the time there."),
    A("", reasoning_content="First the weather.", tool_calls=[call("k1", "get_weather", {"city": "Kyiv"})]),
    T("5C", tool_call_id="k1"),
    A("Now the time.", reasoning_content="Then the time.", tool_calls=[call("k2", "get_time", {"tz": "Europe/Kyiv"})]),
    T("14:30", tool_call_id="k2"),
    A("Kyiv: 5°C, 14:30.", reasoning_content="Summarize."),
], [weather, time_t])

# 18. content given as list of text parts
add("harmony_content_parts", [
    {"role": "system", "content": [{"type": "text", "text": "Part one. "}, {"type": "text", "text": "Part two."}]},
    U([{"type": "text", "text": "Hello "}, {"type": "text", "text": "there"}]),
    A([{"type": "text", "text": "Hi."}]),
])

# 19. refused: tool result that matches no call
add("harmony_refuse_orphan_tool_result", [
    U("Hi"),
    T("orphan result"),
    A("ok"),
])

# 19b. refused by harmony itself (pydantic: parameters must be an object)
add("harmony_refuse_bad_parameters", [U("Hi"), A("ok")], [fn("bad", "Bad schema.", "not a schema")])

# 20. empty final content after reasoning
add("harmony_empty_final", [
    U("Say nothing."),
    A("", reasoning_content="User wants an empty answer."),
])

with open("fixtures/golden/cases_harmony.jsonl", "w", encoding="utf-8") as f:
    for c in cases:
        f.write(json.dumps(c, ensure_ascii=False) + "\n")
print(len(cases))
