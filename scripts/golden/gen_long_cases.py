#!/usr/bin/env python3
"""Generate fixtures/golden/long_cases.jsonl: long, realistic agent trajectories for the golden files.

The hand-written cases in cases.jsonl are short and each exercises one thing. Real agent logs are long and
exercise everything at once: a policy system prompt, 10-30 tools whose parameters nest objects and arrays
with enums and numbers, many tool round trips per user turn, several user turns, parallel calls, reasoning,
content next to calls, non-ASCII text, empty tool results and a trailing "thanks!" after the final answer.
Template bugs that only show on such data (dict order inside nested arguments, number formatting, loop and
namespace state across many messages, whitespace control) are what these cases are for.

Deterministic: the same seed always writes the same file. Run from the repository root (plain Python 3, no
packages needed):

    python3 scripts/golden/gen_long_cases.py            # writes fixtures/golden/long_cases.jsonl
    python3 scripts/golden/gen_long_cases.py --check    # exit 1 if the committed file differs

Every generator in this folder that takes `--cases` can read the file; gen_byo.py, gen_qwen3.py,
gen_chatml.py and gen_harmony.py write their long-case goldens from it (see README.md).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO_ROOT / "fixtures" / "golden" / "long_cases.jsonl"
SEED = 20261207
COUNT = 46

# ---------------------------------------------------------------------------------------------- schemas


def s(desc=None, **kw):
    d = {"type": "string"}
    if desc:
        d["description"] = desc
    d.update(kw)
    return d


def n(kind="integer", desc=None, **kw):
    d = {"type": kind}
    if desc:
        d["description"] = desc
    d.update(kw)
    return d


def arr(items, desc=None, **kw):
    d = {"type": "array", "items": items}
    if desc:
        d["description"] = desc
    d.update(kw)
    return d


def obj(props, required=(), desc=None, **kw):
    d = {"type": "object", "properties": props}
    if required:
        d["required"] = list(required)
    if desc:
        d["description"] = desc
    d.update(kw)
    return d


def tool(name, desc, props, required=()):
    return {"type": "function", "function": {"name": name, "description": desc, "parameters": obj(props, required)}}


ADDRESS = obj(
    {
        "address1": s("Street and number"),
        "address2": s("Apartment, suite (may be empty)"),
        "city": s(),
        "country": s("ISO country name"),
        "state": s(),
        "zip": s(),
    },
    ["address1", "city", "country", "zip"],
    "A postal address",
)
PASSENGER = obj(
    {"first_name": s(), "last_name": s(), "dob": s("Date of birth, YYYY-MM-DD", format="date")},
    ["first_name", "last_name", "dob"],
)
PAYMENT = obj(
    {"payment_id": s("e.g. credit_card_7815826, gift_card_1234"), "amount": n("number", "Amount in USD")},
    ["payment_id", "amount"],
)

AIRLINE_TOOLS = [
    tool("get_user_details", "Get the details of a user, including their reservations.", {"user_id": s("The user id, such as 'sara_doe_496'.")}, ["user_id"]),
    tool("get_reservation_details", "Get the details of a reservation.", {"reservation_id": s("The reservation id, such as '8JX2WO'.")}, ["reservation_id"]),
    tool(
        "search_direct_flight",
        "Search direct flights between two cities on a specific date.",
        {"origin": s("IATA code, such as 'JFK'."), "destination": s("IATA code, such as 'LAX'."), "date": s("The date of the flight in the format 'YYYY-MM-DD'.")},
        ["origin", "destination", "date"],
    ),
    tool(
        "search_onestop_flight",
        "Search one-stop flights between two cities on a specific date.",
        {"origin": s(), "destination": s(), "date": s(), "max_layover_minutes": n("integer", "Longest acceptable layover", minimum=30, maximum=720)},
        ["origin", "destination", "date"],
    ),
    tool(
        "book_reservation",
        "Book a reservation.",
        {
            "user_id": s(),
            "origin": s(),
            "destination": s(),
            "flight_type": s(enum=["one_way", "round_trip"]),
            "cabin": s(enum=["basic_economy", "economy", "business"]),
            "flights": arr(obj({"flight_number": s("e.g. 'HAT001'"), "date": s()}, ["flight_number", "date"]), "Flight legs in order"),
            "passengers": arr(PASSENGER, maxItems=5),
            "payment_methods": arr(PAYMENT),
            "total_baggages": n("integer", minimum=0),
            "nonfree_baggages": n("integer", minimum=0),
            "insurance": s(enum=["yes", "no"]),
        },
        ["user_id", "origin", "destination", "flight_type", "cabin", "flights", "passengers", "payment_methods", "total_baggages", "nonfree_baggages", "insurance"],
    ),
    tool(
        "update_reservation_flights",
        "Update the flight information of a reservation.",
        {"reservation_id": s(), "cabin": s(enum=["basic_economy", "economy", "business"]), "flights": arr(obj({"flight_number": s(), "date": s()}, ["flight_number", "date"])), "payment_id": s()},
        ["reservation_id", "cabin", "flights", "payment_id"],
    ),
    tool(
        "update_reservation_passengers",
        "Update the passenger information of a reservation.",
        {"reservation_id": s(), "passengers": arr(PASSENGER)},
        ["reservation_id", "passengers"],
    ),
    tool(
        "update_reservation_baggages",
        "Update the baggage information of a reservation.",
        {"reservation_id": s(), "total_baggages": n(), "nonfree_baggages": n(), "payment_id": s()},
        ["reservation_id", "total_baggages", "nonfree_baggages", "payment_id"],
    ),
    tool("cancel_reservation", "Cancel the whole reservation.", {"reservation_id": s(), "reason": s(enum=["change_of_plan", "airline_cancelled", "other"])}, ["reservation_id"]),
    tool("send_certificate", "Send a certificate to a user. Be careful!", {"user_id": s(), "amount": n("number", "Certificate amount in USD", exclusiveMinimum=0)}, ["user_id", "amount"]),
    tool("list_all_airports", "List all airports and their cities.", {}),
    tool("calculate", "Calculate the result of a mathematical expression.", {"expression": s("Numbers, + - * / ( ) and spaces.")}, ["expression"]),
    tool("transfer_to_human_agents", "Transfer the user to a human agent, with a summary of the user's issue.", {"summary": s()}, ["summary"]),
    tool("think", "Use the tool to think about something. It will not obtain new information.", {"thought": s()}, ["thought"]),
]

RETAIL_TOOLS = [
    tool("find_user_id_by_email", "Find user id by email.", {"email": s()}, ["email"]),
    tool("find_user_id_by_name_zip", "Find user id by first name, last name, and zip code.", {"first_name": s(), "last_name": s(), "zip": s()}, ["first_name", "last_name", "zip"]),
    tool("get_order_details", "Get the status and details of an order.", {"order_id": s("The order id, such as '#W0000000'.")}, ["order_id"]),
    tool("get_product_details", "Get the inventory details of a product.", {"product_id": s()}, ["product_id"]),
    tool("list_all_product_types", "List the name and product id of all product types.", {}),
    tool(
        "modify_pending_order_address",
        "Modify the shipping address of a pending order.",
        {"order_id": s(), "address": ADDRESS},
        ["order_id", "address"],
    ),
    tool(
        "modify_pending_order_items",
        "Modify items in a pending order to new items of the same product type.",
        {"order_id": s(), "item_ids": arr(s(), uniqueItems=True), "new_item_ids": arr(s()), "payment_method_id": s()},
        ["order_id", "item_ids", "new_item_ids", "payment_method_id"],
    ),
    tool(
        "exchange_delivered_order_items",
        "Exchange items in a delivered order to new items of the same product type.",
        {"order_id": s(), "item_ids": arr(s()), "new_item_ids": arr(s()), "payment_method_id": s()},
        ["order_id", "item_ids", "new_item_ids", "payment_method_id"],
    ),
    tool(
        "return_delivered_order_items",
        "Return some items of a delivered order.",
        {"order_id": s(), "item_ids": arr(s()), "payment_method_id": s()},
        ["order_id", "item_ids", "payment_method_id"],
    ),
    tool("cancel_pending_order", "Cancel a pending order.", {"order_id": s(), "reason": s(enum=["no longer needed", "ordered by mistake"])}, ["order_id", "reason"]),
    tool(
        "search_products",
        "Search the catalogue with filters.",
        {
            "query": s(),
            "filters": obj(
                {
                    "price": obj({"min": n("number"), "max": n("number")}, desc="Price range in USD"),
                    "color": arr(s(enum=["black", "white", "red", "blue", "green"])),
                    "in_stock": {"type": "boolean"},
                    "rating_at_least": n("number", minimum=0, maximum=5),
                }
            ),
            "sort": s(enum=["relevance", "price_asc", "price_desc", "newest"], default="relevance"),
            "limit": n("integer", default=10),
        },
        ["query"],
    ),
    tool("modify_user_address", "Modify the default address of a user.", {"user_id": s(), "address": ADDRESS}, ["user_id", "address"]),
    tool("calculate", "Calculate the result of a mathematical expression.", {"expression": s()}, ["expression"]),
    tool("transfer_to_human_agents", "Transfer the user to a human agent.", {"summary": s()}, ["summary"]),
]

DEVOPS_TOOLS = [
    tool(
        "get_metrics",
        "Query a time series from the metrics store.",
        {
            "query": s("PromQL expression"),
            "range": obj({"start": s("RFC 3339"), "end": s("RFC 3339"), "step_seconds": n("integer", default=60)}, ["start", "end"]),
            "aggregation": s(enum=["avg", "max", "min", "p95", "p99"]),
        },
        ["query", "range"],
    ),
    tool(
        "list_pods",
        "List pods in a namespace.",
        {"namespace": s(), "label_selector": obj({}, desc="label -> value", additionalProperties={"type": "string"}), "phase": s(enum=["Running", "Pending", "Failed", "Succeeded", "Unknown"])},
        ["namespace"],
    ),
    tool("get_logs", "Fetch container logs.", {"pod": s(), "namespace": s(), "container": s(), "tail_lines": n("integer", minimum=1, maximum=5000), "since_seconds": n("integer")}, ["pod", "namespace"]),
    tool(
        "scale_deployment",
        "Scale a deployment.",
        {"name": s(), "namespace": s(), "replicas": n("integer", minimum=0), "dry_run": {"type": "boolean", "default": False}},
        ["name", "namespace", "replicas"],
    ),
    tool(
        "rollout_restart",
        "Restart a deployment rollout.",
        {"name": s(), "namespace": s(), "strategy": obj({"max_surge": {"type": ["integer", "string"]}, "max_unavailable": {"type": ["integer", "string"]}})},
        ["name", "namespace"],
    ),
    tool(
        "update_config",
        "Patch a config map. Values are merged.",
        {
            "name": s(),
            "namespace": s(),
            "patch": obj(
                {
                    "limits": obj({"cpu": s(), "memory": s(), "requests_per_second": n("number")}),
                    "feature_flags": arr(obj({"key": s(), "enabled": {"type": "boolean"}, "rollout": n("number", minimum=0, maximum=1)}, ["key", "enabled"])),
                    "thresholds": obj({"error_rate": n("number"), "latency_ms": n("integer"), "offset": n("integer")}),
                }
            ),
        },
        ["name", "namespace", "patch"],
    ),
    tool(
        "create_incident",
        "Open an incident.",
        {"title": s(), "severity": s(enum=["sev1", "sev2", "sev3", "sev4"]), "services": arr(s()), "assignees": arr(s()), "details": obj({"impact": s(), "started_at": s(), "customer_facing": {"type": "boolean"}})},
        ["title", "severity"],
    ),
    tool("update_incident", "Add a status update to an incident.", {"incident_id": n("integer"), "status": s(enum=["investigating", "identified", "monitoring", "resolved"]), "note": s()}, ["incident_id", "status"]),
    tool("run_query", "Run a read-only SQL query on the analytics replica.", {"sql": s(), "params": arr({"type": ["string", "number", "boolean", "null"]}), "timeout_ms": n("integer", default=30000)}, ["sql"]),
    tool("get_deploy_history", "List recent deploys of a service.", {"service": s(), "limit": n("integer", default=5)}, ["service"]),
    tool("rollback_deploy", "Roll a service back to an earlier revision.", {"service": s(), "revision": n("integer"), "reason": s()}, ["service", "revision"]),
    tool("page_oncall", "Page the on-call engineer of a team.", {"team": s(), "message": s(), "urgency": s(enum=["low", "high"])}, ["team", "message"]),
]

BANK_TOOLS = [
    tool("get_customer", "Look up a customer by id or phone.", {"customer_id": s(), "phone": s()}),
    tool("get_accounts", "List a customer's accounts with balances.", {"customer_id": s(), "include_closed": {"type": "boolean", "default": False}}, ["customer_id"]),
    tool(
        "get_transactions",
        "List transactions of an account.",
        {"account_id": s(), "date_range": obj({"from": s(), "to": s()}, ["from", "to"]), "amount": obj({"min": n("number"), "max": n("number")}), "categories": arr(s(enum=["groceries", "travel", "fees", "transfer", "salary", "other"]))},
        ["account_id"],
    ),
    tool(
        "transfer_funds",
        "Move money between accounts of the same customer.",
        {"from_account": s(), "to_account": s(), "amount": n("number", exclusiveMinimum=0), "currency": s(enum=["USD", "EUR", "JPY", "GBP"]), "memo": s()},
        ["from_account", "to_account", "amount", "currency"],
    ),
    tool("dispute_transaction", "Open a dispute.", {"transaction_id": s(), "reason": s(enum=["fraud", "duplicate", "not_received", "wrong_amount"]), "evidence": arr(obj({"kind": s(enum=["receipt", "email", "photo"]), "description": s()}))}, ["transaction_id", "reason"]),
    tool("freeze_card", "Freeze a debit or credit card.", {"card_last4": s(pattern="^[0-9]{4}$"), "reason": s()}, ["card_last4"]),
    tool("convert_currency", "Convert an amount with today's rate.", {"amount": n("number"), "from": s(), "to": s()}, ["amount", "from", "to"]),
    tool("calculate", "Calculate the result of a mathematical expression.", {"expression": s()}, ["expression"]),
    tool("transfer_to_human_agents", "Transfer the customer to a human agent.", {"summary": s()}, ["summary"]),
]

TRAVEL_TOOLS = [
    tool(
        "search_hotels",
        "Search hotels.",
        {
            "city": s(),
            "check_in": s(),
            "check_out": s(),
            "guests": obj({"adults": n("integer", minimum=1), "children": arr(obj({"age": n("integer", minimum=0, maximum=17)}, ["age"]))}, ["adults"]),
            "preferences": obj({"max_price_per_night": n("number"), "stars": arr(n("integer", minimum=1, maximum=5)), "amenities": arr(s(enum=["wifi", "pool", "gym", "parking", "breakfast"]))}),
        },
        ["city", "check_in", "check_out", "guests"],
    ),
    tool("get_hotel", "Details of one hotel.", {"hotel_id": s()}, ["hotel_id"]),
    tool("book_hotel", "Book a room.", {"hotel_id": s(), "room_type": s(enum=["single", "double", "suite"]), "guest_names": arr(s()), "payment": PAYMENT, "special_requests": s()}, ["hotel_id", "room_type", "guest_names", "payment"]),
    tool("get_weather", "Weather forecast.", {"location": obj({"lat": n("number"), "lon": n("number")}, ["lat", "lon"]), "days": n("integer", default=3), "units": s(enum=["metric", "imperial"])}, ["location"]),
    tool("translate", "Translate text.", {"text": s(), "target_language": s(enum=["en", "ja", "zh", "fr", "de", "es"])}, ["text", "target_language"]),
    tool("get_exchange_rate", "Exchange rate between two currencies.", {"base": s(), "quote": s()}, ["base", "quote"]),
]

DOMAINS = {
    "airline": {
        "tools": AIRLINE_TOOLS,
        "agent": "airline",
        "policy": (
            "# Airline Agent Policy\n\nThe current time is 2024-05-15 15:00:00 EST.\n\n"
            "As an airline agent, you can help users book, modify, or cancel flight reservations.\n\n"
            "- Before taking consequential actions that update the booking database (booking, modifying flights, "
            "editing baggage, upgrading cabin class, or updating passenger information), you must list the action "
            "details and obtain explicit user confirmation (yes) to proceed.\n"
            "- You should not provide any information, knowledge, or procedures not provided by the user or available "
            "tools, or give subjective recommendations or comments.\n"
            "- You should only make one tool call at a time, and if you make a tool call, you should not respond to the "
            "user simultaneously.\n\n## Book flight\n\n- The agent must first obtain the user id.\n"
            "- Passengers: each reservation can have at most five passengers.\n"
            "- Payment: each reservation can use at most one travel certificate, at most one credit card, and at most "
            "three gift cards.\n- Checked bag allowance: basic economy 0, economy 1, business 2 free bags; each extra "
            "bag is 50 dollars.\n\n## Cancel flight\n\n- All reservations can be cancelled within 24 hours of booking."
        ),
    },
    "retail": {
        "tools": RETAIL_TOOLS,
        "agent": "retail",
        "policy": (
            "# Retail agent policy\n\nAs a retail agent, you can help users cancel or modify pending orders, return or "
            "exchange delivered orders, modify their default user address, or provide information about their own "
            "profile, orders, and related products.\n\n- At the beginning of the conversation, you have to authenticate "
            "the user identity by locating their user id via email, or via name + zip code.\n"
            "- Once the user has been authenticated, you can provide the user with information about order, product, "
            "profile information.\n- You can only help one user per conversation.\n"
            "- Exchange or modify order tools can only be called once. Be sure that all items to be changed are "
            "collected into a list before making the tool call!!!\n\n## Domain basic\n\n"
            "- All times in the database are EST and 24 hour based. For example \"02:30:00\" means 2:30 AM EST."
        ),
    },
    "devops": {
        "tools": DEVOPS_TOOLS,
        "agent": "SRE",
        "policy": (
            "You are the on-call SRE assistant for the payments platform.\n\nRules:\n1. Read before you write: look at "
            "metrics and logs before any change.\n2. Never scale a deployment below 2 replicas in `prod`.\n"
            "3. Every production change needs a one-line reason.\n4. Open an incident for anything customer facing "
            "(sev2 or higher).\n\nNamespaces: `prod`, `staging`, `dev`. Times are UTC."
        ),
    },
    "bank": {
        "tools": BANK_TOOLS,
        "agent": "banking",
        "policy": (
            "Sie sind der Kundenservice-Assistent der Nordbank. / You are Nordbank's customer service assistant.\n\n"
            "- Verify the customer (id or phone) before any account information is shared.\n"
            "- Transfers over 10 000 EUR need a human agent.\n- Never reveal full card numbers; use the last 4 digits.\n"
            "- Answer in the customer's language (Deutsch, English, Français, 日本語)."
        ),
    },
    "travel": {
        "tools": TRAVEL_TOOLS,
        "agent": "travel",
        "policy": (
            "你是一个旅行助手。You plan trips: hotels, weather, currency.\n\n"
            "- Confirm dates and the number of guests before booking.\n- Prices are per night, taxes excluded.\n"
            "- Use metric units unless asked otherwise. 🌍"
        ),
    },
}

# Extra tools so some conversations offer close to 30 tools, as big agents do.
FILLER_TOOLS = [
    tool("get_current_time", "The current date and time in a time zone.", {"timezone": s("IANA name, e.g. Europe/Paris", default="UTC")}),
    tool("send_email", "Send an email to the customer on file.", {"to": s(format="email"), "subject": s(), "body": s(), "cc": arr(s()), "attachments": arr(obj({"filename": s(), "size_bytes": n("integer")}, ["filename"]))}, ["to", "subject", "body"]),
    tool("create_ticket", "Create a support ticket.", {"title": s(), "priority": s(enum=["low", "normal", "high", "urgent"]), "tags": arr(s()), "metadata": obj({"source": s(), "score": n("number"), "retries": n("integer")})}, ["title"]),
    tool("lookup_policy", "Find the policy section that applies.", {"topic": s(), "max_results": n("integer", default=3)}, ["topic"]),
    tool("geocode", "Coordinates of an address.", {"address": s()}, ["address"]),
    tool("schedule_callback", "Schedule a phone callback.", {"phone": s(), "window": obj({"start": s(), "end": s()}, ["start", "end"]), "notes": s()}, ["phone", "window"]),
    tool("get_loyalty_status", "Loyalty tier and points.", {"user_id": s()}, ["user_id"]),
    tool("apply_discount", "Apply a discount code.", {"order_id": s(), "code": s(), "percent": n("number", minimum=0, maximum=100)}, ["order_id", "code"]),
    tool("set_preferences", "Store user preferences.", {"user_id": s(), "preferences": obj({"language": s(enum=["en", "de", "fr", "ja", "zh"]), "notifications": obj({"email": {"type": "boolean"}, "sms": {"type": "boolean"}}), "seat": s(enum=["window", "aisle", "middle"])})}, ["user_id", "preferences"]),
    tool("search_knowledge_base", "Full-text search of help articles.", {"query": s(), "locale": s(default="en-US"), "page": n("integer", default=1)}, ["query"]),
    tool("no_op", "Does nothing; has no parameters.", {}),
    tool("record_feedback", "Record a satisfaction score.", {"score": n("integer", minimum=1, maximum=5), "comment": s()}, ["score"]),
    tool("estimate_delivery", "Estimate a delivery date.", {"zip": s(), "weight_kg": n("number"), "express": {"type": "boolean"}}, ["zip", "weight_kg"]),
    tool("verify_identity", "Verify identity with a one-time code.", {"user_id": s(), "code": s(pattern="^[0-9]{6}$")}, ["user_id", "code"]),
    tool("get_fx_history", "Historical exchange rates.", {"pair": s(), "days": n("integer")}, ["pair"]),
    tool("summarize_conversation", "Summarize for the handover note.", {"bullet_points": arr(s(), minItems=1)}, ["bullet_points"]),
]

# ---------------------------------------------------------------------------------------------- values

NAMES = [("Sara", "Doe"), ("Yusuf", "Rossi"), ("Mei", "Chen"), ("José", "Álvarez"), ("Chloé", "Dubois"), ("Søren", "Kierkegaard"),
         ("Aiko", "Tanaka"), ("Olga", "Petrova"), ("Liam", "O'Brien"), ("Zoë", "Müller"), ("李", "雷"), ("Noah", "Smith")]
CITIES = [("JFK", "New York"), ("LAX", "Los Angeles"), ("SFO", "San Francisco"), ("ORD", "Chicago"), ("SEA", "Seattle"),
          ("MIA", "Miami"), ("BOS", "Boston"), ("ATL", "Atlanta"), ("DFW", "Dallas"), ("DEN", "Denver"), ("PHX", "Phoenix")]
SPECIAL_TEXT = [
    "Thanks!", "Danke schön 🙏", "谢谢你的帮助！", "ありがとうございます。", "Merci beaucoup, c'était parfait ✨", "ok 👍",
    "Great, that's all — thank you so much for your help!", "Perfect. Have a nice day :)",
]
# Numbers of every JSON kind (Python's json writes them exactly like this).
NUMBERS = [0, 1, -1, 2, 7, 42, -17, 100, 2500, 1000000, 9007199254740993, 12345678901234567890, -9223372036854775808,
           0.0, 1.0, -0.5, 0.25, 3.14159, 99.99, 1e-05, 1.5e-07, 2.5e+20, 1e+16, -1e-10, 123456.789, 0.1, 1e100, 12.0]


def pick_number(r: random.Random, kind: str, schema: dict):
    if kind == "integer":
        if r.random() < 0.7:
            lo = schema.get("minimum", -50 if r.random() < 0.2 else 0)
            hi = schema.get("maximum", 5000)
            return r.randint(int(lo), int(hi))
        return r.choice([x for x in NUMBERS if isinstance(x, int)])
    if r.random() < 0.5:
        return round(r.uniform(0, 2000), r.choice([0, 1, 2, 2, 3])) if r.random() < 0.8 else float(r.randint(1, 500))
    return r.choice(NUMBERS)


def value_for(r: random.Random, schema: dict, key: str, depth: int = 0):
    t = schema.get("type")
    if isinstance(t, list):
        t = r.choice([x for x in t if x != "null"] or ["string"])
        if r.random() < 0.1 and "null" in schema.get("type"):
            return None
    if "enum" in schema:
        return r.choice(schema["enum"])
    if t == "string":
        return string_for(r, key)
    if t in ("integer", "number"):
        return pick_number(r, t, schema)
    if t == "boolean":
        return r.random() < 0.5
    if t == "array":
        count = r.choice([0, 1, 1, 2, 2, 3, 4]) if depth < 3 else 1
        count = max(count, schema.get("minItems", 0))
        return [value_for(r, schema.get("items", {"type": "string"}), key.rstrip("s"), depth + 1) for _ in range(count)]
    if t == "object":
        props = schema.get("properties", {})
        if not props and "additionalProperties" in schema:
            return {r.choice(["app", "tier", "team", "zone"]): r.choice(["payments", "api", "eu-west-1", "frontend"]) for _ in range(r.randint(1, 3))}
        out = {}
        required = set(schema.get("required", []))
        keys = list(props)
        if r.random() < 0.3:
            r.shuffle(keys)  # arguments in another order than the schema: dict order must be kept, not sorted
        for k in keys:
            if k in required or r.random() < 0.55:  # optional fields absent and present
                out[k] = value_for(r, props[k], k, depth + 1)
        return out
    return string_for(r, key)


def string_for(r: random.Random, key: str) -> str:
    first, last = r.choice(NAMES)
    table = {
        "user_id": f"{first.lower()}_{last.lower()}_{r.randint(100, 999)}",
        "reservation_id": "".join(r.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(6)),
        "order_id": f"#W{r.randint(1000000, 9999999)}",
        "date": f"2024-05-{r.randint(16, 30)}",
        "dob": f"19{r.randint(50, 99)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}",
        "first_name": first,
        "last_name": last,
        "email": f"{first.lower()}.{last.lower()}@example.com",
        "payment_id": r.choice(["credit_card_7815826", "gift_card_1234", "certificate_4856383", "paypal_2022"]),
        "payment_method_id": r.choice(["credit_card_7815826", "gift_card_1234", "paypal_2022"]),
        "flight_number": f"HAT{r.randint(1, 300):03d}",
        "city": r.choice(["Austin", "Zürich", "東京", "São Paulo", "Kraków", "Reykjavík"]),
        "zip": f"{r.randint(10000, 99999)}",
        "namespace": r.choice(["prod", "staging", "dev"]),
        "query": r.choice(["rate(http_requests_total{status=~\"5..\"}[5m])", "wireless headphones", "histogram_quantile(0.99, sum(rate(latency_bucket[5m])) by (le))", "café au lait mug ☕"]),
        "sql": "SELECT day, count(*) AS n FROM payments WHERE status = 'failed' AND amount > $1 GROUP BY day ORDER BY day",
        "expression": r.choice(["(1200 - 350) * 0.9", "3 * 50 + 2", "1e-05 * 3", "100 / 3"]),
        "summary": "User wants to change a non-refundable booking; policy does not allow it. 用户要求人工客服。",
        "thought": "Check the policy: basic economy cannot be modified. Next, offer cancellation if within 24h.",
    }
    if key in table:
        return table[key]
    if key in ("origin", "destination"):
        return r.choice(CITIES)[0]
    if key in ("item_id", "item_ids", "new_item_id", "new_item_ids", "product_id"):
        return str(r.randint(1000000000, 9999999999))
    if key in ("start", "end", "from", "to", "started_at", "check_in", "check_out"):
        return f"2024-05-{r.randint(1, 28):02d}T{r.randint(0, 23):02d}:{r.choice(['00', '15', '30', '45'])}:00Z"
    if key in ("name", "service", "pod", "container", "deployment"):
        return r.choice(["checkout-api", "ledger-writer", "fraud-scorer-7d9f8", "gateway", "payments-worker-0"])
    return r.choice([
        "window seat please", "N/A", "", "line one\nline two", "Straße 5, 2. OG", "請盡快處理", "rush 🚀", "50% off",
        'say "hello"', "tab\tseparated", "back\\slash", "<b>bold</b> & co", "emoji 🧳✈️",
    ])


# ---------------------------------------------------------------------------------------------- tool results


def result_for(r: random.Random, name: str, args: dict) -> str:
    kind = r.random()
    if kind < 0.07:
        return ""  # empty tool result
    if kind < 0.15:
        return r.choice(["Error: reservation not found", "OK", "Transfer successful", "timeout after 30000 ms", "null", "[]", "{}"])
    payload = {"status": r.choice(["ok", "pending", "confirmed"]), "request": args}
    extra = {
        "id": r.randint(1, 10**6),
        "items": [
            {"name": r.choice(["Wireless Earbuds", "Hiking Boots", "電気ケトル", "T-Shirt"]), "price": round(r.uniform(5, 500), 2), "qty": r.randint(1, 3), "options": {"color": r.choice(["black", "red"]), "size": r.choice(["S", "M", "XL"])}}
            for _ in range(r.randint(0, 3))
        ],
        "balance": r.choice([1234.5, -20.0, 0, 1e-05, 98765432109876543210]),
        "note": r.choice(["", "Ünïcödé ✓", "first line\nsecond line", None]),
    }
    payload.update({k: v for k, v in extra.items() if r.random() < 0.7})
    # Tool results come as strings: sometimes compact JSON, sometimes pretty, sometimes with non-ASCII escaped.
    style = r.random()
    if style < 0.5:
        return json.dumps(payload, ensure_ascii=False)
    if style < 0.75:
        return json.dumps(payload, indent=2, ensure_ascii=False)
    return json.dumps(payload, separators=(",", ":"))


# ---------------------------------------------------------------------------------------------- conversations

USER_OPENERS = {
    "airline": ["Hi, I need to change my flight.", "I want to cancel reservation {rid}.", "Can you book me a one-way trip from {o} to {d}?", "我想给我的预订加一件行李。", "Hola, necesito actualizar los pasajeros de mi reserva."],
    "retail": ["I want to return the headphones from my last order.", "My email is {email}. Where is my order?", "Can you change the shipping address of order {oid}?", "Je voudrais échanger un article.", "注文をキャンセルしたいです。"],
    "devops": ["5xx rate on checkout-api is spiking, can you look?", "Scale ledger-writer in prod to 6 replicas.", "Roll back the gateway deploy from an hour ago.", "Latency p99 > 800ms since 14:05 UTC 🔥", "Enable the new_fraud_model flag at 10% in staging."],
    "bank": ["Ich sehe eine doppelte Abbuchung auf meinem Konto.", "Please move 250 EUR from savings to checking.", "My card ending 4821 was stolen!", "カードを凍結してください。", "What were my travel expenses last month?"],
    "travel": ["Find me a hotel in Kyoto for 2 adults and a 7-year-old.", "下周去上海，天气怎么样？", "Book the suite at hotel H-2231 please.", "What's 1000 USD in JPY today?", "Traduis « bon voyage » en japonais."],
}
FOLLOWUPS = ["Yes, please go ahead.", "yes", "Actually, make it two bags instead.", "Can you also check the other one?", "No wait — use the gift card.", "Sounds good 👍", "Is there anything cheaper?", "Ok. And the weather there?", "Bitte fortfahren.", "好的，谢谢。"]
REASONING = [
    "The user asked for {what}. I should first look up the details, then confirm before changing anything.",
    "Policy check: this action changes the database, so I need an explicit yes.\n\nNext step: call {tool}.",
    "Result came back {status}. Compare with the request: amounts match; 1e-05 tolerance is fine.",
    "用户想要{what}。先查询，再确认。",
    "Two lookups are independent, so I can call them in parallel.",
]
PREAMBLES = ["Let me check that for you.", "I'll look that up now.", "Un instant, je vérifie.", "確認します。", "Checking the metrics and the recent deploys first."]
ANSWERS = [
    "Done. Your reservation {rid} is updated; the total charged is $150.00.",
    "I found {k} matching results. The cheapest is $89.99 per night (taxes excluded).",
    "The error rate dropped from 4.2% to 0.3% after the rollback. I opened incident #{inc}.",
    "Erledigt: 250,00 EUR wurden überwiesen. Neuer Kontostand: 1.234,50 EUR.",
    "已为您完成预订，确认号 {rid}。祝您旅途愉快 🎉",
    "Here is the summary:\n\n- Order {oid}: return started\n- Refund: $42.00 to credit_card_7815826\n- Label: sent by email",
    "I'm sorry, but basic economy reservations cannot be modified under our policy. I can cancel it if it was booked in the last 24 hours.",
]


def fill(r: random.Random, text: str) -> str:
    o, d = r.sample(CITIES, 2)
    return text.format(
        rid="".join(r.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(6)),
        o=o[1], d=d[1], email="mei.chen@example.com", oid=f"#W{r.randint(1000000, 9999999)}",
        what=r.choice(["a change", "a refund", "一次改签", "the status"]), tool=r.choice(["get_user_details", "list_pods"]),
        status=r.choice(["ok", "pending"]), k=r.randint(2, 12), inc=r.randint(100, 999),
    )


def make_case(r: random.Random, index: int) -> dict:
    domain_name = list(DOMAINS)[index % len(DOMAINS)]
    domain = DOMAINS[domain_name]
    tools = list(domain["tools"])
    # 10-30 tools: the domain's own plus filler tools, in a shuffled order for some.
    want = r.randint(10, 30)
    extra = [t for t in FILLER_TOOLS if t["function"]["name"] not in {x["function"]["name"] for x in tools}]
    r.shuffle(extra)
    tools += extra[: max(0, want - len(tools))]
    tools = tools[:want] if len(tools) > want and r.random() < 0.5 else tools
    if r.random() < 0.3:
        r.shuffle(tools)
    callable_tools = [t for t in tools if t["function"]["name"] not in ("think",)] or tools

    # Traits, so that every kind appears in many cases and not all at once in every case.
    reasoning = r.random() < 0.55
    reasoning_every_step = reasoning and r.random() < 0.5
    preamble_rate = r.choice([0.0, 0.3, 0.6])
    parallel_rate = r.choice([0.0, 0.25, 0.5])
    with_call_ids = r.random() < 0.5
    string_args = r.random() < 0.07
    trailing_user = r.random() < 0.35
    user_turns = r.randint(2, 4)
    # The content of a message with calls and no text: absent, "" or null, as different logs write it.
    no_content = r.choice(["absent", "empty", "empty", "null"])

    messages = []
    if r.random() < 0.93:
        messages.append({"role": "system", "content": domain["policy"]})
    call_no = 0
    for turn in range(user_turns):
        opener = fill(r, r.choice(USER_OPENERS[domain_name] if turn == 0 else FOLLOWUPS))
        messages.append({"role": "user", "content": opener})
        rounds = r.choice([0, 1, 2, 3, 3, 4, 5, 6]) if turn else r.randint(1, 6)
        for _ in range(rounds):
            k = 1
            if r.random() < parallel_rate:
                k = r.randint(2, 3)
            chosen = [r.choice(callable_tools) for _ in range(k)]
            calls = []
            for t in chosen:
                fn = t["function"]
                args = value_for(r, fn["parameters"], fn["name"])
                call = {"type": "function", "function": {"name": fn["name"], "arguments": args}}
                if string_args and r.random() < 0.5:
                    call["function"]["arguments"] = json.dumps(args, ensure_ascii=r.random() < 0.5)
                if with_call_ids:
                    call_no += 1
                    call = {"id": f"call_{index:02d}{call_no:03d}", **call}
                calls.append(call)
            msg = {"role": "assistant"}
            if r.random() < preamble_rate:
                msg["content"] = fill(r, r.choice(PREAMBLES))
            elif no_content != "absent":
                msg["content"] = "" if no_content == "empty" else None
            if reasoning_every_step or (reasoning and r.random() < 0.3):
                msg["reasoning_content"] = fill(r, r.choice(REASONING))
            msg["tool_calls"] = calls
            messages.append(msg)
            for call in calls:
                fn = call["function"]
                args = fn["arguments"] if isinstance(fn["arguments"], dict) else json.loads(fn["arguments"])
                result = {"role": "tool", "content": result_for(r, fn["name"], args), "name": fn["name"]}
                if "id" in call and r.random() < 0.9:
                    result["tool_call_id"] = call["id"]
                messages.append(result)
        final = {"role": "assistant", "content": fill(r, r.choice(ANSWERS))}
        if reasoning and (reasoning_every_step or r.random() < 0.5):
            final["reasoning_content"] = fill(r, r.choice(REASONING))
        messages.append(final)
    if trailing_user:
        messages.append({"role": "user", "content": r.choice(SPECIAL_TEXT)})
    traits = [domain_name, f"{len(tools)}tools", f"{user_turns}users"]
    traits += ["reasoning"] if reasoning else []
    traits += ["parallel"] if parallel_rate else []
    traits += ["trailing_user"] if trailing_user else []
    traits += ["string_args"] if string_args else []
    traits += [f"{no_content}_content"] if preamble_rate < 0.6 else []
    return {"id": f"long_{index:02d}_" + "_".join(traits), "messages": messages, "tools": tools}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--seed", type=int, default=SEED)
    p.add_argument("--count", type=int, default=COUNT)
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 if --out differs")
    args = p.parse_args()
    r = random.Random(args.seed)
    lines = [json.dumps(make_case(r, i), ensure_ascii=False) + "\n" for i in range(args.count)]
    content = "".join(lines)
    if args.check:
        same = args.out.exists() and args.out.read_text(encoding="utf-8") == content
        print(f"{args.out}: {'up to date' if same else 'out of date'}", file=sys.stderr)
        return 0 if same else 1
    args.out.write_text(content, encoding="utf-8")
    print(f"wrote {args.out} ({len(lines)} cases, {len(content)} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
