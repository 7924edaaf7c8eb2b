#!/usr/bin/env python3
"""Generate benchmark corpora for trajkit (TRL/OpenAI `messages` rows, JSONL).

realistic: multi-turn, tool-heavy agent trajectories. Long system prompts (2-4k tokens) and tool sets
are shared across records, as real agent policies are; 10-40 messages per record.
unshared:  the same shape, but every record has its own system prompt, tool set and texts, so no
text repeats between records.

usage: make_corpus.py OUT_DIR [--records N] [--seed S]
Deterministic for a given seed. Writes OUT_DIR/realistic.jsonl and OUT_DIR/unshared.jsonl.
"""
import argparse
import json
import os
import random

WORDS = ("account agent airline allowance amount approve baggage balance booking business cabin cancel change "
         "charge check class compensation confirm connection credit customer date delay departure destination "
         "direct document economy eligible email exchange fare fee flight gift insurance itinerary label "
         "loyalty member modify name number offer origin passenger payment penalty policy premium price "
         "priority record refund request reservation return route rule seat segment service status ticket "
         "transfer travel traveler upgrade user verify voucher waiver window").split()
CITIES = ["JFK", "LAX", "SFO", "ORD", "ATL", "SEA", "BOS", "MIA", "DEN", "DFW", "LHR", "CDG", "NRT", "SYD"]
NAMES = ["Mia", "Noah", "Aisha", "Kenji", "Lucía", "Omar", "Ines", "Tariq", "Sofia", "Liam", "Yuki", "Zoe"]


def sentence(rng, n=None):
    n = n or rng.randint(8, 22)
    words = [rng.choice(WORDS) for _ in range(n)]
    return " ".join(words).capitalize() + "."


def policy(rng, tokens):
    """A markdown agent policy of roughly `tokens` tokens (about 1.3 tokens per word here)."""
    parts = [f"# {rng.choice(WORDS).title()} agent policy\n",
             "You are a customer service agent. Follow the policy below exactly.\n"]
    words = 0
    while words * 1.3 < tokens:
        parts.append(f"\n## {rng.choice(WORDS).title()} {rng.choice(WORDS)}\n")
        for _ in range(rng.randint(3, 7)):
            s = sentence(rng)
            words += len(s.split())
            parts.append(f"- {s}\n")
    return "".join(parts)


def schema(rng, name):
    props, required = {}, []
    for _ in range(rng.randint(2, 6)):
        key = f"{rng.choice(WORDS)}_{rng.choice(WORDS)}"
        kind = rng.choice(["string", "string", "integer", "number", "boolean", "enum", "array", "object"])
        desc = sentence(rng, rng.randint(5, 12))
        if kind == "enum":
            props[key] = {"type": "string", "enum": rng.sample(WORDS, 3), "description": desc}
        elif kind == "array":
            props[key] = {"type": "array", "items": {"type": "string"}, "description": desc}
        elif kind == "object":
            props[key] = {"type": "object", "properties": {"id": {"type": "string"}, "count": {"type": "integer"}},
                          "description": desc}
        else:
            props[key] = {"type": kind, "description": desc}
        if rng.random() < 0.6:
            required.append(key)
    return {"type": "function", "function": {"name": name, "description": sentence(rng, rng.randint(8, 20)),
                                             "parameters": {"type": "object", "properties": props,
                                                            "required": required}}}


def tool_set(rng, n):
    names = set()
    while len(names) < n:
        names.add(f"{rng.choice(['get', 'update', 'cancel', 'book', 'search', 'list', 'send'])}_{rng.choice(WORDS)}")
    return [schema(rng, name) for name in sorted(names)]


def value_for(rng, spec):
    kind = spec.get("type")
    if "enum" in spec:
        return rng.choice(spec["enum"])
    if kind == "integer":
        return rng.randint(1, 5000)
    if kind == "number":
        return round(rng.uniform(1, 2000), 2)
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "array":
        return [rng.choice(WORDS) for _ in range(rng.randint(1, 3))]
    if kind == "object":
        return {"id": f"R{rng.randint(10000, 99999)}", "count": rng.randint(1, 4)}
    return f"{rng.choice(NAMES)} {rng.choice(CITIES)}-{rng.randint(100, 999)}"


def tool_result(rng):
    result = {"reservation_id": f"{rng.choice('ABCDEFGH')}{rng.randint(100000, 999999)}",
              "status": rng.choice(["confirmed", "pending", "cancelled"]),
              "passengers": [{"name": rng.choice(NAMES), "seat": f"{rng.randint(1, 40)}{rng.choice('ABCDEF')}"}
                             for _ in range(rng.randint(1, 3))],
              "segments": [{"from": rng.choice(CITIES), "to": rng.choice(CITIES),
                            "date": f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                            "price": round(rng.uniform(80, 1500), 2)} for _ in range(rng.randint(1, 4))],
              "notes": sentence(rng, rng.randint(10, 30))}
    return json.dumps(result)


def record(rng, idx, system, tools):
    messages = [{"role": "system", "content": system}]
    target = rng.randint(10, 40)
    while len(messages) < target:
        messages.append({"role": "user", "content": " ".join(sentence(rng) for _ in range(rng.randint(1, 3)))})
        for _ in range(rng.randint(0, 3)):
            calls = []
            for _ in range(1 if rng.random() < 0.8 else 2):
                tool = rng.choice(tools)["function"]
                args = {k: value_for(rng, v) for k, v in tool["parameters"]["properties"].items()
                        if k in tool["parameters"]["required"] or rng.random() < 0.4}
                calls.append({"type": "function", "function": {"name": tool["name"], "arguments": args}})
            msg = {"role": "assistant", "content": "", "tool_calls": calls}
            if rng.random() < 0.5:
                msg["reasoning_content"] = sentence(rng, rng.randint(10, 40))
            messages.append(msg)
            for call in calls:
                messages.append({"role": "tool", "name": call["function"]["name"], "content": tool_result(rng)})
        answer = {"role": "assistant", "content": " ".join(sentence(rng) for _ in range(rng.randint(2, 5)))}
        if rng.random() < 0.5:
            answer["reasoning_content"] = sentence(rng, rng.randint(10, 40))
        messages.append(answer)
    return {"id": f"r{idx}", "messages": messages, "tools": tools}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out_dir")
    ap.add_argument("--records", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    rng = random.Random(args.seed)
    policies = [(policy(rng, rng.randint(2000, 4000)), tool_set(rng, rng.randint(8, 14))) for _ in range(6)]
    with open(os.path.join(args.out_dir, "realistic.jsonl"), "w") as out:
        for i in range(args.records):
            system, tools = policies[rng.randrange(len(policies))]
            out.write(json.dumps(record(rng, i, system, tools), ensure_ascii=False) + "\n")
    rng = random.Random(args.seed + 1)
    with open(os.path.join(args.out_dir, "unshared.jsonl"), "w") as out:
        for i in range(args.records):
            # Salt every text with the record number so that no segment repeats across records.
            system = policy(rng, rng.randint(2000, 4000)).replace("agent", f"agent-{i}")
            rec = record(rng, i, system, tool_set(rng, rng.randint(8, 14)))
            for m in rec["messages"][1:]:
                m["content"] = f"[{i}] " + m["content"]
            out.write(json.dumps(rec, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
