//! A deterministic generator of tau-bench style airline-agent trajectories in the raw annotation
//! format: a policy system prompt, 14 tools (nested objects and arrays, enums, integers and
//! numbers), several user turns per record, many tool round trips per turn (parallel look-ups, an
//! empty `think` result, an empty search result, an error result and its retry), clarification,
//! confirmation and refusal answers, answers that repeat values of the results, non-ASCII names.
//! Every record ends on an assistant answer.
//!
//! Written for `pairs --synthesize` (tests/pairs.rs); `fixtures/samples/tau_airline.jsonl` is its
//! output for [`RECORDS`] records, regenerated with `TRAJKIT_REGENERATE=1 cargo test --test it pairs::`.

use serde_json::{json, Value};

use crate::common::tau::Rng;

pub const RECORDS: usize = 36;

/// Reservation and certificate codes: uppercase letters and digits (this generator's own alphabet,
/// which keeps `fixtures/samples/tau_airline.jsonl` as it was written).
fn code(rng: &mut Rng, len: usize) -> String {
    const CHARS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ0123456789";
    (0..len).map(|_| CHARS[rng.below(CHARS.len())] as char).collect()
}

/// A number written with `len` digits, the first not zero.
fn digits(rng: &mut Rng, len: usize) -> String {
    (0..len).map(|i| char::from(b'0' + (rng.below(9) + usize::from(i == 0)) as u8)).collect()
}

const FIRST: &[&str] =
    &["Mia", "Omar", "Chen", "Sofia", "Aarav", "Lucas", "Emma", "Yusuf", "Amelia", "José", "Ivan", "Noah"];
const LAST: &[&str] =
    &["Li", "Davis", "Jackson", "Kim", "Patel", "Müller", "Smith", "Hernandez", "Ahmed", "Núñez", "Santos", "Brown"];
const AIRPORTS: &[(&str, &str)] = &[
    ("JFK", "New York"),
    ("SEA", "Seattle"),
    ("LAX", "Los Angeles"),
    ("ORD", "Chicago"),
    ("ATL", "Atlanta"),
    ("DFW", "Dallas"),
    ("SFO", "San Francisco"),
    ("BOS", "Boston"),
    ("MIA", "Miami"),
    ("DEN", "Denver"),
    ("PHX", "Phoenix"),
    ("LAS", "Las Vegas"),
];
const MEMBERSHIPS: &[&str] = &["regular", "silver", "gold"];

const POLICY: &str = "# Airline Agent Policy\n\nThe current time is 2024-05-15 15:00:00 EST.\n\nAs an airline agent, you can help users book, modify, or cancel flight reservations.\n\n- Before taking consequential actions that update the booking database (booking, modifying flights, editing baggage, upgrading cabin class, or updating passenger information), you must list the action details and obtain explicit user confirmation (yes) to proceed.\n- You should not provide any information, knowledge, or procedures not provided by the user or available tools, or give subjective recommendations or comments.\n- You should only make one tool call at a time, and if you make a tool call, you should not respond to the user simultaneously. If you respond to the user, you should not make a tool call at the same time.\n- You should deny user requests that are against this policy.\n- You should transfer the user to a human agent if and only if the request cannot be handled within the scope of your actions.\n\n## Domain basics\n\n- Each user has a profile containing user id, email, addresses, date of birth, payment methods, reservation numbers, and membership tier.\n- Each reservation has a reservation id, user id, trip type (one way, round trip), flights, passengers, payment methods, created time, baggages, and travel insurance information.\n- Each flight has a flight number, an origin, destination, scheduled departure and arrival time (local time), and for each date: if the status is \"available\", the flight has not taken off, available seats and prices are listed.\n\n## Cancel flight\n\n- The agent must first obtain the user id, then ask for the reservation id and the reason for cancellation (change of plan, airline cancelled flight, or other reasons).\n- All reservations can be cancelled within 24 hours of booking, or if the airline cancelled the flight. Otherwise, basic economy or economy flights can be cancelled only if travel insurance is bought and the condition is met, and business flights can always be cancelled.\n- The refund will go to original payment methods in 5 to 7 business days.\n\n## Checked bag allowance\n\n- If the booking user is a regular member, 0 free checked bag for each basic economy passenger, 1 free checked bag for each economy passenger, and 2 free checked bags for each business passenger. If the booking user is a silver member, 1 free checked bag for each basic economy passenger, 2 free checked bag for each economy passenger, and 3 free checked bags for each business passenger. If the booking user is a gold member, 2 free checked bag for each basic economy passenger, 3 free checked bag for each economy passenger, and 3 free checked bags for each business passenger. Each extra baggage is 50 dollars.\n\n## Compensation\n\n- Do not proactively offer compensation unless the user explicitly asks for one. If the user is a silver/gold member or has travel insurance or flies business, and complains about delayed flights in a reservation and wants to change or cancel the reservation, the agent can offer a certificate as a gesture after confirming the facts, with the amount being $50 times the number of passengers.";

fn tool(name: &str, description: &str, properties: Value, required: &[&str]) -> Value {
    json!({"type": "function", "function": {"name": name, "description": description,
        "parameters": {"type": "object", "properties": properties, "required": required}}})
}

fn tools() -> Value {
    let flight = json!({"type": "object", "properties": {
        "flight_number": {"type": "string", "description": "Flight number, such as 'HAT001'."},
        "date": {"type": "string", "description": "The date for the flight in the format 'YYYY-MM-DD'."}},
        "required": ["flight_number", "date"]});
    let passenger = json!({"type": "object", "properties": {
        "first_name": {"type": "string"}, "last_name": {"type": "string"},
        "dob": {"type": "string", "description": "Date of birth, 'YYYY-MM-DD'."}},
        "required": ["first_name", "last_name", "dob"]});
    let payment = json!({"type": "object", "properties": {
        "payment_id": {"type": "string", "description": "Such as 'credit_card_7815826'."},
        "amount": {"type": "number"}}, "required": ["payment_id", "amount"]});
    let cabin = json!({"type": "string", "enum": ["basic_economy", "economy", "business"]});
    let airport = |what: &str| json!({"type": "string", "description": format!("The {what} city airport in three letters, such as 'JFK'.")});
    let date = json!({"type": "string", "description": "The date of the flight in the format 'YYYY-MM-DD', such as '2024-01-01'."});
    Value::Array(vec![
        tool(
            "book_reservation",
            "Book a reservation.",
            json!({
            "user_id": {"type": "string", "description": "The ID of the user to book the reservation, such as 'sara_doe_496'."},
            "origin": airport("origin"), "destination": airport("destination"),
            "flight_type": {"type": "string", "enum": ["one_way", "round_trip"]},
            "cabin": cabin,
            "flights": {"type": "array", "description": "An array of objects containing details about each piece of flight.", "items": flight},
            "passengers": {"type": "array", "items": passenger},
            "payment_methods": {"type": "array", "items": payment},
            "total_baggages": {"type": "integer", "minimum": 0},
            "nonfree_baggages": {"type": "integer", "minimum": 0},
            "insurance": {"type": "string", "enum": ["yes", "no"]}}),
            &[
                "user_id",
                "origin",
                "destination",
                "flight_type",
                "cabin",
                "flights",
                "passengers",
                "payment_methods",
                "total_baggages",
                "nonfree_baggages",
                "insurance",
            ],
        ),
        tool(
            "calculate",
            "Calculate the result of a mathematical expression.",
            json!({
            "expression": {"type": "string", "description": "The mathematical expression to calculate, such as '2 + 2'."}}),
            &["expression"],
        ),
        tool(
            "cancel_reservation",
            "Cancel the whole reservation.",
            json!({
            "reservation_id": {"type": "string", "description": "The reservation ID, such as 'ZFA04Y'."}}),
            &["reservation_id"],
        ),
        tool(
            "get_reservation_details",
            "Get the details of a reservation.",
            json!({
            "reservation_id": {"type": "string", "description": "The reservation id, such as '8JX2WO'."}}),
            &["reservation_id"],
        ),
        tool(
            "get_user_details",
            "Get the details of an user, including their reservations.",
            json!({
            "user_id": {"type": "string", "description": "The user id, such as 'sara_doe_496'."}}),
            &["user_id"],
        ),
        tool("list_all_airports", "List all airports and their cities.", json!({}), &[]),
        tool(
            "search_direct_flight",
            "Search direct flights between two cities on a specific date.",
            json!({
            "origin": airport("origin"), "destination": airport("destination"), "date": date.clone()}),
            &["origin", "destination", "date"],
        ),
        tool(
            "search_onestop_flight",
            "Search one-stop flights between two cities on a specific date.",
            json!({
            "origin": airport("origin"), "destination": airport("destination"), "date": date}),
            &["origin", "destination", "date"],
        ),
        tool(
            "send_certificate",
            "Send a certificate to a user. Be careful!",
            json!({
            "user_id": {"type": "string"}, "amount": {"type": "number", "description": "Certificate amount to send."}}),
            &["user_id", "amount"],
        ),
        tool(
            "think",
            "Use the tool to think about something. It will not obtain new information or change the database.",
            json!({
            "thought": {"type": "string"}}),
            &["thought"],
        ),
        tool(
            "transfer_to_human_agents",
            "Transfer the user to a human agent, with a summary of the user's issue.",
            json!({
            "summary": {"type": "string"}}),
            &["summary"],
        ),
        tool(
            "update_reservation_baggages",
            "Update the baggage information of a reservation.",
            json!({
            "reservation_id": {"type": "string"},
            "total_baggages": {"type": "integer", "minimum": 0},
            "nonfree_baggages": {"type": "integer", "minimum": 0},
            "payment_id": {"type": "string"}}),
            &["reservation_id", "total_baggages", "nonfree_baggages", "payment_id"],
        ),
        tool(
            "update_reservation_flights",
            "Update the flight information of a reservation.",
            json!({
            "reservation_id": {"type": "string"}, "cabin": cabin,
            "flights": {"type": "array", "items": flight},
            "payment_id": {"type": "string"}}),
            &["reservation_id", "cabin", "flights", "payment_id"],
        ),
        tool(
            "update_reservation_passengers",
            "Update the passenger information of a reservation.",
            json!({
            "reservation_id": {"type": "string"},
            "passengers": {"type": "array", "items": passenger}}),
            &["reservation_id", "passengers"],
        ),
    ])
}

struct User {
    id: String,
    first: String,
    last: String,
    dob: String,
    membership: &'static str,
    card: String,
    gift: String,
}

struct Reservation {
    id: String,
    origin: (&'static str, &'static str),
    destination: (&'static str, &'static str),
    date: String,
    flight: String,
    cabin: &'static str,
    price: u64,
    passengers: usize,
    bags: usize,
    insurance: bool,
    created: String,
}

fn user(rng: &mut Rng) -> User {
    let first = rng.pick(FIRST).to_string();
    let last = rng.pick(LAST).to_string();
    let ascii = |s: &str| s.to_lowercase().replace(['é', 'ú'], "e").replace('ü', "u").replace('ñ', "n");
    User {
        id: format!("{}_{}_{}", ascii(&first), ascii(&last), digits(rng, 4)),
        dob: format!("19{}-{:02}-{:02}", 50 + rng.below(50), 1 + rng.below(12), 1 + rng.below(28)),
        first,
        last,
        membership: rng.pick::<&str>(MEMBERSHIPS),
        card: format!("credit_card_{}", digits(rng, 7)),
        gift: format!("gift_card_{}", digits(rng, 7)),
    }
}

fn reservation(rng: &mut Rng, cabin: &'static str, insurance: bool, recent: bool) -> Reservation {
    let origin = *rng.pick(AIRPORTS);
    let destination = loop {
        let d = *rng.pick(AIRPORTS);
        if d != origin {
            break d;
        }
    };
    let base = match cabin {
        "basic_economy" => 60,
        "economy" => 110,
        _ => 320,
    };
    Reservation {
        id: code(rng, 6),
        origin,
        destination,
        date: format!("2024-05-{:02}", 17 + rng.below(12)),
        flight: format!("HAT{:03}", 1 + rng.below(299)),
        cabin,
        price: base + rng.below(140) as u64,
        passengers: 1 + rng.below(3),
        bags: rng.below(3),
        insurance,
        created: if recent {
            format!("2024-05-15T{:02}:{:02}:00", 1 + rng.below(12), rng.below(60))
        } else {
            format!("2024-0{}-{:02}T{:02}:{:02}:00", 1 + rng.below(4), 1 + rng.below(28), rng.below(24), rng.below(60))
        },
    }
}

fn user_result(u: &User, reservations: &[&Reservation]) -> Value {
    json!({"user_id": u.id, "name": {"first_name": u.first, "last_name": u.last},
        "address": {"address1": "123 Main Street", "city": "Springfield", "country": "USA", "state": "IL", "zip": "62701"},
        "email": format!("{}@example.com", u.id), "dob": u.dob, "membership": u.membership,
        "payment_methods": {
            u.card.clone(): {"source": "credit_card", "brand": "visa", "last_four": &u.card[u.card.len() - 4..], "id": u.card},
            u.gift.clone(): {"source": "gift_card", "amount": 120, "id": u.gift}},
        "saved_passengers": [],
        "reservations": reservations.iter().map(|r| r.id.clone()).collect::<Vec<_>>()})
}

fn passengers(u: &User, r: &Reservation, rng: &mut Rng) -> Vec<Value> {
    let mut out = vec![json!({"first_name": u.first, "last_name": u.last, "dob": u.dob})];
    for _ in 1..r.passengers {
        out.push(json!({"first_name": rng.pick(FIRST), "last_name": u.last, "dob": format!("20{:02}-0{}-1{}", rng.below(20), 1 + rng.below(9), rng.below(10))}));
    }
    out
}

fn reservation_result(u: &User, r: &Reservation, rng: &mut Rng) -> Value {
    json!({"reservation_id": r.id, "user_id": u.id, "origin": r.origin.0, "destination": r.destination.0,
        "flight_type": "one_way", "cabin": r.cabin,
        "flights": [{"origin": r.origin.0, "destination": r.destination.0, "flight_number": r.flight, "date": r.date, "price": r.price}],
        "passengers": passengers(u, r, rng),
        "payment_history": [{"payment_id": u.card, "amount": r.price * r.passengers as u64}],
        "created_at": r.created, "total_baggages": r.bags, "nonfree_baggages": 0,
        "insurance": if r.insurance { "yes" } else { "no" }})
}

fn call(name: &str, arguments: Value) -> Value {
    json!({"name": name, "arguments": arguments})
}

fn step(name: &str, arguments: Value, result: Value) -> Value {
    json!({"assistant_tool": call(name, arguments), "tool_result": result})
}

fn cabin_words(c: &str) -> &'static str {
    match c {
        "basic_economy" => "basic economy",
        "economy" => "economy",
        _ => "business",
    }
}

fn free_bags(membership: &str, cabin: &str) -> usize {
    let row = match membership {
        "regular" => [0, 1, 2],
        "silver" => [1, 2, 3],
        _ => [2, 3, 3],
    };
    row[match cabin {
        "basic_economy" => 0,
        "economy" => 1,
        _ => 2,
    }]
}

fn turn(user: impl Into<String>, steps: Vec<Value>, answer: impl Into<String>) -> Value {
    let mut t = serde_json::Map::new();
    t.insert("user".into(), Value::String(user.into()));
    if !steps.is_empty() {
        t.insert("steps".into(), Value::Array(steps));
    }
    t.insert("assistant_answer".into(), Value::String(answer.into()));
    Value::Object(t)
}

fn with_think(mut step: Value, think: &str) -> Value {
    step["assistant_think"] = Value::String(think.into());
    step
}

fn cancel(u: &User, rng: &mut Rng) -> Vec<Value> {
    let rs: Vec<Reservation> = (0..2 + rng.below(2)).map(|k| reservation(rng, "economy", k == 1, false)).collect();
    let target = &rs[1];
    let mut turns = vec![turn(
        "Hi! I'd like to cancel one of my flights.",
        vec![],
        "I can help with that. Could you please share your user ID?",
    )];
    let refs: Vec<&Reservation> = rs.iter().collect();
    let mut steps = vec![step("get_user_details", json!({"user_id": u.id}), user_result(u, &refs))];
    if rng.chance(50) {
        // The look-ups as parallel calls in one message.
        let calls: Vec<Value> =
            rs.iter().map(|r| call("get_reservation_details", json!({"reservation_id": r.id}))).collect();
        let results: Vec<Value> = rs.iter().map(|r| reservation_result(u, r, rng)).collect();
        steps.push(json!({"assistant_tool": calls, "tool_result": results}));
    } else {
        for r in &rs {
            steps.push(step("get_reservation_details", json!({"reservation_id": r.id}), reservation_result(u, r, rng)));
        }
    }
    let list: Vec<String> =
        rs.iter().map(|r| format!("{} ({} to {} on {})", r.id, r.origin.1, r.destination.1, r.date)).collect();
    turns.push(turn(
        format!("Sure, my user id is {}.", u.id),
        steps,
        format!(
            "Thanks, {}. I see {} reservations on your profile: {}. Which one would you like to cancel, and what is the reason for the cancellation?",
            u.first,
            rs.len(),
            list.join(", ")
        ),
    ));
    let total = target.price * target.passengers as u64;
    let think = step(
        "think",
        json!({"thought": format!("Reservation {} is economy with travel insurance; the reason is a change of plan, which insurance covers, so it can be cancelled.", target.id)}),
        json!(""),
    );
    turns.push(turn(
        format!("The {} trip, {}. My plans changed.", target.destination.1, target.id),
        vec![think],
        format!(
            "Reservation {} ({} to {} on {}, economy, {} passenger(s)) has travel insurance, so it can be cancelled with a full refund of ${} to your credit card ending in {}. Shall I go ahead and cancel it? (yes/no)",
            target.id,
            target.origin.0,
            target.destination.0,
            target.date,
            target.passengers,
            total,
            &u.card[u.card.len() - 4..]
        ),
    ));
    let mut cancelled = reservation_result(u, target, rng);
    cancelled["status"] = json!("cancelled");
    cancelled["payment_history"].as_array_mut().unwrap().push(json!({"payment_id": u.card, "amount": -(total as i64)}));
    turns.push(turn(
        "Yes, please.",
        vec![step("cancel_reservation", json!({"reservation_id": target.id}), cancelled)],
        format!(
            "Done: reservation {} is cancelled. The refund of ${} will go back to your credit card within 5 to 7 business days.",
            target.id, total
        ),
    ));
    turns
}

fn baggage(u: &User, rng: &mut Rng) -> Vec<Value> {
    let cabin = *rng.pick(&["economy", "business", "basic_economy"]);
    let insured = rng.chance(50);
    let r = reservation(rng, cabin, insured, false);
    let free = free_bags(u.membership, cabin) * r.passengers;
    let total = free.max(r.bags) + 1 + rng.below(3);
    let paid = total - free;
    let steps = vec![
        step("get_user_details", json!({"user_id": u.id}), user_result(u, &[&r])),
        step("get_reservation_details", json!({"reservation_id": r.id}), reservation_result(u, &r, rng)),
    ];
    let mut turns = vec![turn(
        format!("Hello, I want to add some checked bags to my upcoming trip. My user ID is {}.", u.id),
        steps,
        format!(
            "I found reservation {} ({} to {} on {}, {}), currently with {} checked bag(s) for {} passenger(s). As a {} member you get {} free checked bag(s) in total. How many bags would you like in total?",
            r.id, r.origin.1, r.destination.1, r.date, cabin_words(cabin), r.bags, r.passengers, u.membership, free
        ),
    )];
    let cost = paid * 50;
    turns.push(turn(
        format!("Make it {total} bags in total, please."),
        vec![step("calculate", json!({"expression": format!("({total} - {free}) * 50")}), json!(format!("{cost}.0")))],
        format!(
            "That makes {paid} paid bag(s) at $50 each, ${cost} in total, charged to your credit card ending in {}. Shall I proceed? (yes/no)",
            &u.card[u.card.len() - 4..]
        ),
    ));
    let mut updated = reservation_result(u, &r, rng);
    updated["total_baggages"] = json!(total);
    updated["nonfree_baggages"] = json!(paid);
    turns.push(turn(
        "Yes, go ahead.",
        vec![step(
            "update_reservation_baggages",
            json!({"reservation_id": r.id, "total_baggages": total, "nonfree_baggages": paid, "payment_id": u.card}),
            updated,
        )],
        format!(
            "Your reservation {} now has {total} checked bags, {paid} of them paid; ${cost} was charged to your card.",
            r.id
        ),
    ));
    turns
}

fn flight_option(rng: &mut Rng, origin: &str, destination: &str, date: &str) -> Value {
    let dep = 5 + rng.below(14);
    json!({"flight_number": format!("HAT{:03}", 1 + rng.below(299)), "origin": origin, "destination": destination,
        "status": "available", "scheduled_departure_time_est": format!("{dep:02}:00:00"),
        "scheduled_arrival_time_est": format!("{:02}:30:00", dep + 2 + rng.below(4)), "date": date,
        "available_seats": {"basic_economy": rng.below(20), "economy": 1 + rng.below(20), "business": rng.below(10)},
        "prices": {"basic_economy": 50 + rng.below(50), "economy": 100 + rng.below(100), "business": 250 + rng.below(250)}})
}

fn booking(u: &User, rng: &mut Rng) -> Vec<Value> {
    let r = reservation(rng, "economy", false, true);
    let (o, d, date) = (r.origin, r.destination, r.date.clone());
    let via = loop {
        let v = *rng.pick(AIRPORTS);
        if v != o && v != d {
            break v;
        }
    };
    let mut turns = vec![turn(
        format!("I want to book a one-way flight from {} to {} on {}.", o.1, d.1, date),
        vec![],
        "Sure! Could you give me your user ID first?",
    )];
    let leg1 = flight_option(rng, o.0, via.0, &date);
    let leg2 = flight_option(rng, via.0, d.0, &date);
    let alt1 = flight_option(rng, o.0, via.0, &date);
    let alt2 = flight_option(rng, via.0, d.0, &date);
    let price = |f: &Value| f["prices"]["economy"].as_u64().unwrap();
    let (f1, f2) =
        (leg1["flight_number"].as_str().unwrap().to_string(), leg2["flight_number"].as_str().unwrap().to_string());
    turns.push(turn(
        u.id.clone(),
        vec![
            step("get_user_details", json!({"user_id": u.id}), user_result(u, &[])),
            with_think(
                step("search_direct_flight", json!({"origin": o.0, "destination": d.0, "date": date}), json!([])),
                "Look for a direct flight first.",
            ),
            step(
                "search_onestop_flight",
                json!({"origin": o.0, "destination": d.0, "date": date}),
                json!([[leg1, leg2], [alt1, alt2]]),
            ),
        ],
        format!(
            "There is no direct flight on {date}. The best one-stop option is {f1} then {f2} via {}, leaving at {}, economy ${} + ${}. Which option and cabin would you like, and how many passengers?",
            via.1,
            &leg1["scheduled_departure_time_est"].as_str().unwrap()[..5],
            price(&leg1),
            price(&leg2)
        ),
    ));
    let total = price(&leg1) + price(&leg2);
    let free = free_bags(u.membership, "economy");
    turns.push(turn(
        "That option in economy, just me. Pay with my credit card, no insurance.",
        vec![step("calculate", json!({"expression": format!("{} + {}", price(&leg1), price(&leg2))}), json!(format!("{total}.0")))],
        format!(
            "To confirm: {} to {} on {date}, flights {f1} and {f2}, economy, one passenger ({} {}), {free} free checked bag(s), no insurance, ${total} charged to your credit card ending in {}. Shall I book it? (yes/no)",
            o.0,
            d.0,
            u.first,
            u.last,
            &u.card[u.card.len() - 4..]
        ),
    ));
    let new_id = code(rng, 6);
    let flights = json!([{"flight_number": f1, "date": date}, {"flight_number": f2, "date": date}]);
    turns.push(turn(
        "Yes, book it.",
        vec![step(
            "book_reservation",
            json!({"user_id": u.id, "origin": o.0, "destination": d.0, "flight_type": "one_way", "cabin": "economy",
                "flights": flights, "passengers": [{"first_name": u.first, "last_name": u.last, "dob": u.dob}],
                "payment_methods": [{"payment_id": u.card, "amount": total}], "total_baggages": 0, "nonfree_baggages": 0, "insurance": "no"}),
            json!({"reservation_id": new_id, "user_id": u.id, "origin": o.0, "destination": d.0, "flight_type": "one_way",
                "cabin": "economy", "flights": flights, "payment_history": [{"payment_id": u.card, "amount": total}],
                "created_at": "2024-05-15T15:00:00", "total_baggages": 0, "nonfree_baggages": 0, "insurance": "no"}),
        )],
        format!("Booked! Your reservation number is {new_id}: {f1} and {f2} on {date}, ${total} charged to your credit card."),
    ));
    turns
}

fn change(u: &User, rng: &mut Rng) -> Vec<Value> {
    let r = reservation(rng, "economy", false, false);
    let typo: String = r.id.chars().rev().collect();
    let mut turns = vec![turn(
        format!("I need to move my flight to a later date. Reservation {typo}."),
        vec![],
        "Happy to help. Could you provide your user ID so I can verify the reservation?",
    )];
    turns.push(turn(
        u.id.clone(),
        vec![
            step("get_user_details", json!({"user_id": u.id}), user_result(u, &[&r])),
            step("get_reservation_details", json!({"reservation_id": typo}), json!("Error: reservation not found")),
            step("get_reservation_details", json!({"reservation_id": r.id}), reservation_result(u, &r, rng)),
        ],
        format!(
            "I couldn't find {typo}, but your profile has reservation {} ({} to {} on {}, economy). Is that the one, and which date would you like instead?",
            r.id, r.origin.1, r.destination.1, r.date
        ),
    ));
    let date2 = format!("2024-05-{:02}", 29 + rng.below(2));
    let a = flight_option(rng, r.origin.0, r.destination.0, &date2);
    let b = flight_option(rng, r.origin.0, r.destination.0, &date2);
    let num = |f: &Value| f["flight_number"].as_str().unwrap().to_string();
    let dep = |f: &Value| f["scheduled_departure_time_est"].as_str().unwrap()[..5].to_string();
    let price = |f: &Value| f["prices"]["economy"].as_u64().unwrap();
    turns.push(turn(
        format!("Yes, that one. Move it to {date2}."),
        vec![step("search_direct_flight", json!({"origin": r.origin.0, "destination": r.destination.0, "date": date2}), json!([a, b]))],
        format!(
            "On {date2} there are two direct flights: {} leaving at {} (economy ${}) and {} leaving at {} (economy ${}). Which one would you like?",
            num(&a),
            dep(&a),
            price(&a),
            num(&b),
            dep(&b),
            price(&b)
        ),
    ));
    let new_total = price(&b) * r.passengers as u64;
    let old_total = r.price * r.passengers as u64;
    let diff = new_total as i64 - old_total as i64;
    turns.push(turn(
        format!("{} please.", num(&b)),
        vec![step("calculate", json!({"expression": format!("{new_total} - {old_total}")}), json!(format!("{diff}.0")))],
        format!(
            "Moving to {} on {date2} changes the fare by ${diff} for {} passenger(s), settled with your credit card ending in {}. Confirm? (yes/no)",
            num(&b),
            r.passengers,
            &u.card[u.card.len() - 4..]
        ),
    ));
    let mut updated = reservation_result(u, &r, rng);
    updated["flights"] = json!([{"origin": r.origin.0, "destination": r.destination.0, "flight_number": num(&b), "date": date2, "price": price(&b)}]);
    turns.push(turn(
        "Yes.",
        vec![step(
            "update_reservation_flights",
            json!({"reservation_id": r.id, "cabin": "economy", "flights": [{"flight_number": num(&b), "date": date2}], "payment_id": u.card}),
            updated,
        )],
        format!("Done. Reservation {} is now on {} on {date2}, departing at {}.", r.id, num(&b), dep(&b)),
    ));
    turns
}

fn refusal(u: &User, rng: &mut Rng) -> Vec<Value> {
    let r = reservation(rng, "basic_economy", false, false);
    let mut turns = vec![turn(
        format!("Hi, my user id is {} and I need to cancel reservation {}.", u.id, r.id),
        vec![
            step("get_user_details", json!({"user_id": u.id}), user_result(u, &[&r])),
            step("get_reservation_details", json!({"reservation_id": r.id}), reservation_result(u, &r, rng)),
        ],
        format!(
            "I'm sorry, but I can't cancel reservation {}: it is a basic economy booking made on {} without travel insurance, and our policy does not allow cancelling it.",
            r.id,
            &r.created[..10]
        ),
    )];
    turns.push(turn(
        "That's ridiculous. Can I talk to a real person?",
        vec![step(
            "transfer_to_human_agents",
            json!({"summary": format!("User {} wants to cancel basic economy reservation {} without insurance; denied by policy, asked for a human.", u.id, r.id)}),
            json!("Transfer successful"),
        )],
        "I've transferred you to a human agent; they will be with you shortly.",
    ));
    turns
}

fn compensation(u: &User, rng: &mut Rng) -> Vec<Value> {
    let cabin = *rng.pick(&["economy", "business"]);
    let r = reservation(rng, cabin, true, false);
    let mut turns = vec![turn(
        "My flight was delayed by five hours and I missed a meeting. I want compensation.",
        vec![],
        "I'm sorry about the delay. Could you share your user ID and the reservation number?",
    )];
    let amount = 50 * r.passengers;
    turns.push(turn(
        format!("User {}, reservation {}.", u.id, r.id),
        vec![
            step("get_user_details", json!({"user_id": u.id}), user_result(u, &[&r])),
            step("get_reservation_details", json!({"reservation_id": r.id}), reservation_result(u, &r, rng)),
        ],
        format!(
            "Thank you, {}. Reservation {} has {} passenger(s) in {} with travel insurance, so I can offer a travel certificate of ${amount} as a gesture. Would you like me to issue it?",
            u.first,
            r.id,
            r.passengers,
            cabin_words(cabin)
        ),
    ));
    let cert = format!("certificate_{}", digits(rng, 7));
    turns.push(turn(
        "Yes please.",
        vec![step(
            "send_certificate",
            json!({"user_id": u.id, "amount": amount}),
            json!(format!("Certificate {cert} added to user {} with amount {amount}.", u.id)),
        )],
        format!("Done: a ${amount} certificate ({cert}) has been added to your account."),
    ));
    turns
}

/// Record number `n`.
pub fn record(n: usize) -> Value {
    let mut rng = Rng::at_state(0x7a_u64.wrapping_mul(n as u64 + 1) ^ 0x5eed);
    let u = user(&mut rng);
    let mut turns = match n % 6 {
        0 => cancel(&u, &mut rng),
        1 => baggage(&u, &mut rng),
        2 => booking(&u, &mut rng),
        3 => change(&u, &mut rng),
        4 => refusal(&u, &mut rng),
        _ => compensation(&u, &mut rng),
    };
    // A question the policy answers, no tool needed; a closing exchange.
    if rng.chance(50) {
        let m = *rng.pick(MEMBERSHIPS);
        let c = *rng.pick(&["basic_economy", "economy", "business"]);
        let q = turn(
            format!("Quick question: how many free checked bags does a {m} member get in {}?", cabin_words(c)),
            vec![],
            format!(
                "A {m} member gets {} free checked bag(s) per passenger in {}; each extra bag is $50.",
                free_bags(m, c),
                cabin_words(c)
            ),
        );
        let at = if rng.chance(50) { 0 } else { turns.len() };
        turns.insert(at, q);
    }
    if rng.chance(40) {
        turns.push(turn(
            "Great, thanks for your help!",
            vec![],
            format!("You're welcome, {}! Have a great trip.", u.first),
        ));
    }
    json!({"id": format!("tau-airline-{n:03}"), "system": POLICY, "tools": tools(), "turns": turns})
}

/// The generated file's text: one record per line.
pub fn jsonl(records: usize) -> String {
    (0..records).map(|n| record(n).to_string() + "\n").collect()
}
