//! A deterministic generator of long, realistic agent trajectories in the style of tau-bench: an
//! airline or retail customer-service agent with a policy system prompt, 14–15 tools with nested
//! object / array / enum parameters, several user turns, many tool round trips per user turn,
//! parallel calls, reasoning, non-ASCII names and text, empty and failed tool results, and (in a good
//! share of records) a trailing "thank you" after the final answer, as real logs have.
//!
//! Records come out in OpenAI/TRL `messages` form; `forms::messages_to_raw` writes the raw form of the
//! same conversation. Every argument value is grounded (said by the user, in the policy, or in an
//! earlier tool result), so `validate` has nothing to say about clean records but what its heuristics
//! get wrong. The generator only makes conversations the raw format can express: no content next to
//! calls, and no reasoning on an answer that follows calls in its turn.

use serde_json::{json, Map, Value};

/// Deterministic pseudo-random numbers (SplitMix64).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    /// A generator at `state` as it is, for a generator that mixes its own seeds (tau_airline).
    pub fn at_state(state: u64) -> Self {
        Rng(state)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// One of `words` (a plain `*pick` that clippy cannot see through).
    pub fn word(&mut self, words: &[&'static str]) -> &'static str {
        words[self.below(words.len())]
    }

    /// Uppercase letters and digits, as reservation and certificate codes are written.
    pub fn code(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        (0..len).map(|_| ALPHABET[self.below(ALPHABET.len())] as char).collect()
    }

    pub fn digits(&mut self, len: usize) -> String {
        (0..len).map(|_| char::from(b'0' + self.below(10) as u8)).collect()
    }
}

/// Which customer-service world a trajectory comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Domain {
    Airline,
    Retail,
}

/// `count` records of `domain` (or both, alternating, when `None`) from `seed`; record `k` depends
/// only on `seed` and `k`.
pub fn corpus(domain: Option<Domain>, seed: u64, count: usize) -> Vec<Value> {
    (0..count)
        .map(|k| {
            let d = domain.unwrap_or(if k % 2 == 0 { Domain::Airline } else { Domain::Retail });
            record(d, seed.wrapping_mul(1_000_003).wrapping_add(k as u64), k)
        })
        .collect()
}

/// One conversation in messages form: `{"id", "tools", "messages"}`.
pub fn record(domain: Domain, seed: u64, index: usize) -> Value {
    let mut rng = Rng::new(seed);
    let mut c = Conv::new(&mut rng);
    let prefix = match domain {
        Domain::Airline => {
            airline::conversation(&mut c, &mut rng);
            "airline"
        }
        Domain::Retail => {
            retail::conversation(&mut c, &mut rng);
            "retail"
        }
    };
    if rng.chance(45) {
        c.user(rng.pick(THANKS).to_string());
    }
    if rng.chance(15) {
        // A step a team keeps as context without loss (`"train": false`).
        let k = rng.below(c.messages.iter().filter(|m| m["role"] == "assistant").count());
        if let Some(m) = c.messages.iter_mut().filter(|m| m["role"] == "assistant").nth(k) {
            m["train"] = Value::Bool(false);
        }
    }
    let tools = match domain {
        Domain::Airline => airline::tools(),
        Domain::Retail => retail::tools(),
    };
    json!({"id": format!("{prefix}-{index:04}"), "tools": tools, "messages": c.messages})
}

/// What real users write after the final answer, with no reply expected.
const THANKS: &[&str] = &[
    "Thank you so much for your help!",
    "Thanks, that's all I needed.",
    "Great, thank you!",
    "Perfect — thanks a lot.",
    "Merci beaucoup !",
    "¡Muchas gracias!",
    "Thank you 🙏",
    "ok thx",
];

/// A conversation being written, message by message.
pub struct Conv {
    pub messages: Vec<Value>,
    /// Calls carry OpenAI ids (`call_…`) and results their `tool_call_id`.
    ids: bool,
    /// Arguments as JSON strings, as OpenAI APIs return them (otherwise objects).
    string_args: bool,
    /// The assistant writes reasoning.
    reasoning: bool,
    /// Calls made since the last user message (an answer after them cannot carry reasoning in raw).
    calls_this_turn: usize,
    next_id: u64,
}

impl Conv {
    fn new(rng: &mut Rng) -> Self {
        Conv {
            messages: Vec::new(),
            ids: rng.chance(50),
            string_args: rng.chance(35),
            reasoning: rng.chance(60),
            calls_this_turn: 0,
            next_id: rng.next_u64() % 1_000_000,
        }
    }

    pub fn system(&mut self, text: String) {
        self.messages.push(json!({"role": "system", "content": text}));
    }

    pub fn user(&mut self, text: String) {
        self.messages.push(json!({"role": "user", "content": text}));
        self.calls_this_turn = 0;
    }

    /// One assistant message with `calls` (several = parallel), then one result per call.
    pub fn step(&mut self, think: &str, calls: Vec<(&str, Value)>, results: Vec<String>) {
        assert_eq!(calls.len(), results.len());
        let mut message = Map::new();
        message.insert("role".into(), "assistant".into());
        message.insert("content".into(), "".into());
        if self.reasoning && !think.is_empty() {
            message.insert("reasoning_content".into(), think.into());
        }
        let mut ids = Vec::new();
        let calls: Vec<Value> = calls
            .into_iter()
            .map(|(name, args)| {
                let args = if self.string_args { Value::String(python_dumps(&args)) } else { args };
                let mut call = json!({"type": "function", "function": {"name": name, "arguments": args}});
                if self.ids {
                    self.next_id += 7919;
                    let id = format!("call_{:06}", self.next_id % 1_000_000);
                    call["id"] = Value::String(id.clone());
                    ids.push(Some(id));
                } else {
                    ids.push(None);
                }
                call
            })
            .collect();
        let names: Vec<Value> = calls.iter().map(|c| c["function"]["name"].clone()).collect();
        message.insert("tool_calls".into(), Value::Array(calls));
        self.messages.push(Value::Object(message));
        for ((result, name), id) in results.into_iter().zip(names).zip(ids) {
            let mut tool = json!({"role": "tool", "content": result, "name": name});
            if let Some(id) = id {
                tool["tool_call_id"] = Value::String(id);
            }
            self.messages.push(tool);
        }
        self.calls_this_turn += 1;
    }

    pub fn answer(&mut self, think: &str, text: String) {
        let mut message = json!({"role": "assistant", "content": text});
        if self.reasoning && self.calls_this_turn == 0 && !think.is_empty() {
            message["reasoning_content"] = Value::String(think.to_string());
        }
        self.messages.push(message);
    }
}

/// JSON text as Python's `json.dumps` writes it (`", "` and `": "`), which is how OpenAI-style logs
/// store arguments.
fn python_dumps(v: &Value) -> String {
    match v {
        Value::Object(map) => {
            let items: Vec<String> =
                map.iter().map(|(k, v)| format!("{}: {}", Value::String(k.clone()), python_dumps(v))).collect();
            format!("{{{}}}", items.join(", "))
        }
        Value::Array(items) => format!("[{}]", items.iter().map(python_dumps).collect::<Vec<_>>().join(", ")),
        other => other.to_string(),
    }
}

/// A tool schema in the OpenAI shape.
fn tool(name: &str, description: &str, properties: Value, required: &[&str]) -> Value {
    json!({"type": "function", "function": {"name": name, "description": description,
        "parameters": {"type": "object", "properties": properties, "required": required}}})
}

/// People: ASCII spelling for ids, display spelling (often non-ASCII) for names.
const PEOPLE: &[(&str, &str, &str, &str)] = &[
    ("mia", "li", "Mia", "Li"),
    ("jose", "garcia", "José", "García"),
    ("zoe", "muller", "Zoë", "Müller"),
    ("yusuf", "ahmed", "Yusuf", "Ahmed"),
    ("aarav", "patel", "Aarav", "Patel"),
    ("chloe", "dubois", "Chloé", "Dubois"),
    ("soren", "nielsen", "Søren", "Nielsen"),
    ("lucas", "silva", "Lucas", "Silva"),
    ("amelia", "ito", "Amelia", "Itō"),
    ("omar", "khan", "Omar", "Khan"),
    ("noa", "cohen", "Noa", "Cohen"),
    ("ivan", "petrov", "Иван", "Петров"),
    ("mei", "chen", "Mei", "Chen"),
    ("fatima", "zahra", "Fátima", "Zahra"),
];

const MONTHS: &[&str] = &["May", "June"];

/// A date in May or June 2024: (ISO form, the way a user says it).
fn date(rng: &mut Rng) -> (String, String) {
    let m = rng.below(2);
    let d = rng.range(16, 28);
    let spoken = match rng.below(3) {
        0 => format!("{} {d}", MONTHS[m]),
        1 => format!("{} {d}th", MONTHS[m]),
        _ => format!("{d} {}", MONTHS[m]),
    };
    (format!("2024-{:02}-{d:02}", m + 5), spoken)
}

fn dob(rng: &mut Rng) -> String {
    format!("{}-{:02}-{:02}", rng.range(1950, 2004), rng.range(1, 12), rng.range(1, 28))
}

/// Compact JSON text of a tool result, as tau-bench's tools return it.
fn compact(v: &Value) -> String {
    v.to_string()
}

mod airline {
    use super::{compact, date, dob, json, tool, Conv, Rng, Value, PEOPLE};

    const AIRPORTS: &[(&str, &str)] = &[
        ("JFK", "New York"),
        ("SEA", "Seattle"),
        ("SFO", "San Francisco"),
        ("ORD", "Chicago"),
        ("LAX", "Los Angeles"),
        ("MIA", "Miami"),
        ("BOS", "Boston"),
        ("DEN", "Denver"),
        ("ATL", "Atlanta"),
        ("DFW", "Dallas"),
        ("PHX", "Phoenix"),
        ("MSP", "Minneapolis"),
    ];

    const CABINS: &[&str] = &["basic_economy", "economy", "business"];

    pub fn tools() -> Value {
        let flights = json!({"type": "array", "description": "Every flight of the reservation, in order.",
            "items": {"type": "object", "properties": {
                "flight_number": {"type": "string", "description": "e.g. HAT170"},
                "date": {"type": "string", "description": "YYYY-MM-DD"}},
                "required": ["flight_number", "date"]}});
        let passengers = json!({"type": "array", "items": {"type": "object", "properties": {
            "first_name": {"type": "string"}, "last_name": {"type": "string"},
            "dob": {"type": "string", "description": "YYYY-MM-DD"}},
            "required": ["first_name", "last_name", "dob"]}});
        let cabin = json!({"type": "string", "enum": CABINS});
        let id = |d: &str| json!({"type": "string", "description": d});
        json!([
            tool(
                "book_reservation",
                "Book a reservation.",
                json!({
                "user_id": id("The user's id, e.g. sara_doe_496."),
                "origin": id("IATA code of the origin airport."),
                "destination": id("IATA code of the destination airport."),
                "flight_type": {"type": "string", "enum": ["one_way", "round_trip"]},
                "cabin": cabin,
                "flights": flights,
                "passengers": passengers,
                "payment_methods": {"type": "array", "items": {"type": "object", "properties": {
                    "payment_id": {"type": "string"}, "amount": {"type": "number"}},
                    "required": ["payment_id", "amount"]}},
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
                    "insurance"
                ]
            ),
            tool(
                "calculate",
                "Calculate the result of an arithmetic expression.",
                json!({"expression": id("Numbers, + - * / ( ) and spaces only.")}),
                &["expression"]
            ),
            tool(
                "cancel_reservation",
                "Cancel the whole reservation.",
                json!({"reservation_id": id("e.g. ZFA04Y")}),
                &["reservation_id"]
            ),
            tool(
                "get_reservation_details",
                "Get the details of a reservation.",
                json!({"reservation_id": id("e.g. 8JX2WO")}),
                &["reservation_id"]
            ),
            tool(
                "get_user_details",
                "Get the details of a user, including their reservations.",
                json!({"user_id": id("e.g. sara_doe_496")}),
                &["user_id"]
            ),
            tool("list_all_airports", "List every airport the airline serves, by IATA code.", json!({}), &[]),
            tool(
                "search_direct_flight",
                "Search direct flights between two cities on a date.",
                json!({
                "origin": id("IATA code, e.g. JFK"), "destination": id("IATA code, e.g. LAX"),
                "date": id("YYYY-MM-DD")}),
                &["origin", "destination", "date"]
            ),
            tool(
                "search_onestop_flight",
                "Search one-stop flights between two cities on a date.",
                json!({
                "origin": id("IATA code, e.g. JFK"), "destination": id("IATA code, e.g. LAX"),
                "date": id("YYYY-MM-DD")}),
                &["origin", "destination", "date"]
            ),
            tool(
                "send_certificate",
                "Send a travel certificate to a user as a goodwill gesture.",
                json!({
                "user_id": id("The user's id."), "amount": {"type": "number", "description": "In dollars."}}),
                &["user_id", "amount"]
            ),
            tool(
                "think",
                "Think about something; it gets no new information and changes nothing.",
                json!({"thought": id("A thought to think about.")}),
                &["thought"]
            ),
            tool(
                "transfer_to_human_agents",
                "Transfer the user to a human agent, with a summary of the issue.",
                json!({"summary": id("A summary of the user's issue.")}),
                &["summary"]
            ),
            tool(
                "update_reservation_baggages",
                "Update the baggage of a reservation.",
                json!({
                "reservation_id": id("e.g. ZFA04Y"),
                "total_baggages": {"type": "integer", "minimum": 0},
                "nonfree_baggages": {"type": "integer", "minimum": 0},
                "payment_id": id("A payment id from the user's profile, e.g. credit_card_7815826.")}),
                &["reservation_id", "total_baggages", "nonfree_baggages", "payment_id"]
            ),
            tool(
                "update_reservation_flights",
                "Update the flights of a reservation.",
                json!({
                "reservation_id": id("e.g. ZFA04Y"), "cabin": cabin, "flights": flights,
                "payment_id": id("A payment id from the user's profile.")}),
                &["reservation_id", "cabin", "flights", "payment_id"]
            ),
            tool(
                "update_reservation_passengers",
                "Update the passengers of a reservation.",
                json!({
                "reservation_id": id("e.g. ZFA04Y"), "passengers": passengers}),
                &["reservation_id", "passengers"]
            ),
        ])
    }

    fn policy() -> String {
        "# Airline Agent Policy\n\n\
The current time is 2024-05-15 15:00:00 EST.\n\n\
As an airline agent, you can help users book, modify, or cancel flight reservations.\n\n\
- Before taking any actions that update the booking database (booking, modifying flights, editing baggage, \
upgrading cabin class, or updating passenger information), you must list the action details and obtain \
explicit user confirmation (yes) to proceed.\n\
- You should not provide any information, knowledge, or procedures not provided by the user or available \
tools, or give subjective recommendations or comments.\n\
- You should only make one tool call at a time, and if you make a tool call, you should not respond to the \
user simultaneously.\n\
- You should transfer the user to a human agent if and only if the request cannot be handled within the \
scope of your actions.\n\n\
## Domain basics\n\n\
- Each user has a profile with user id, email, addresses, date of birth, payment methods, reservation \
numbers, and membership tier (regular, silver, gold).\n\
- Each reservation has a reservation id, user id, trip type (one_way, round_trip), flights, passengers, \
payment methods, created time, baggages, and travel insurance information.\n\
- Each flight has a flight number, an origin, destination, scheduled departure and arrival time, and the \
price and available seats of each cabin (basic_economy, economy, business).\n\n\
## Baggage\n\n\
Regular members get 0 free checked bags in basic economy, 1 in economy and 2 in business. Silver members \
get 1, 2 and 3; gold members get 2, 3 and 3. Each extra bag costs 50 dollars.\n\n\
## Cancellation\n\n\
A reservation can be cancelled if it was booked within the last 24 hours, if the flight was cancelled by \
the airline, if it is business class, or if the user has travel insurance and the reason is covered. \
Basic economy flights cannot be modified. The refund goes to the original payment methods within 5 to 7 \
business days.\n\n\
## Compensation\n\n\
Do not proactively offer compensation. If a silver or gold member, or a user with travel insurance, \
complains about a cancelled flight, you can offer a certificate of 100 dollars times the number of \
passengers; for a delayed flight, a certificate of 50 dollars times the number of passengers, once the \
reservation has been changed or cancelled."
            .to_string()
    }

    struct Flight {
        number: String,
        origin: &'static str,
        destination: &'static str,
        date: String,
        price: u64,
    }

    struct Reservation {
        id: String,
        cabin: &'static str,
        flights: Vec<Flight>,
        passengers: Vec<Value>,
        insurance: bool,
        recent: bool,
        bags: u64,
    }

    impl Reservation {
        fn json(&self, user_id: &str, payment: &str) -> Value {
            let flights: Vec<Value> = self
                .flights
                .iter()
                .map(|f| {
                    json!({"origin": f.origin, "destination": f.destination,
                    "flight_number": f.number, "date": f.date, "price": f.price})
                })
                .collect();
            let total: u64 = self.flights.iter().map(|f| f.price).sum::<u64>() * self.passengers.len() as u64;
            json!({"reservation_id": self.id, "user_id": user_id,
                "origin": self.flights[0].origin, "destination": self.flights[0].destination,
                "flight_type": if self.flights.len() == 2 { "round_trip" } else { "one_way" },
                "cabin": self.cabin, "flights": flights, "passengers": self.passengers,
                "payment_history": [{"payment_id": payment, "amount": total}],
                "created_at": if self.recent { "2024-05-15T09:12:40" } else { "2024-05-02T17:45:03" },
                "total_baggages": self.bags, "nonfree_baggages": 0,
                "insurance": if self.insurance { "yes" } else { "no" }})
        }

        fn route(&self) -> String {
            let f = &self.flights[0];
            format!("{} → {}", f.origin, f.destination)
        }
    }

    struct State {
        user_id: String,
        first: &'static str,
        last: &'static str,
        dob: String,
        membership: &'static str,
        card: String,
        card_last4: String,
        gift: String,
        gift_balance: u64,
        reservations: Vec<Reservation>,
        /// The agent has fetched the profile (payment ids and reservation ids are in the context).
        profile_seen: bool,
        /// Reservations whose details are in the context.
        seen: Vec<usize>,
    }

    fn flight_number(rng: &mut Rng) -> String {
        format!("HAT{:03}", rng.range(1, 299))
    }

    fn new_reservation(rng: &mut Rng, passengers: Vec<Value>) -> Reservation {
        let a = rng.below(AIRPORTS.len());
        let b = (a + 1 + rng.below(AIRPORTS.len() - 1)) % AIRPORTS.len();
        let (d1, _) = date(rng);
        let mut flights = vec![Flight {
            number: flight_number(rng),
            origin: AIRPORTS[a].0,
            destination: AIRPORTS[b].0,
            date: d1,
            price: rng.range(60, 480) as u64,
        }];
        if rng.chance(40) {
            let (d2, _) = date(rng);
            flights.push(Flight {
                number: flight_number(rng),
                origin: AIRPORTS[b].0,
                destination: AIRPORTS[a].0,
                date: d2,
                price: rng.range(60, 480) as u64,
            });
        }
        Reservation {
            id: rng.code(6),
            cabin: rng.word(CABINS),
            flights,
            passengers,
            insurance: rng.chance(40),
            recent: rng.chance(25),
            bags: rng.range(0, 2) as u64,
        }
    }

    fn city(code: &str) -> &'static str {
        AIRPORTS.iter().find(|(c, _)| *c == code).map(|(_, n)| *n).unwrap_or("?")
    }

    pub fn conversation(c: &mut Conv, rng: &mut Rng) {
        let (uid_first, uid_last, first, last) = *rng.pick(PEOPLE);
        let me = json!({"first_name": first, "last_name": last, "dob": dob(rng)});
        let mut st = State {
            user_id: format!("{uid_first}_{uid_last}_{}", rng.digits(4)),
            first,
            last,
            dob: me["dob"].as_str().unwrap().to_string(),
            membership: rng.word(&["regular", "silver", "gold"]),
            card: format!("credit_card_{}", rng.digits(7)),
            card_last4: rng.digits(4),
            gift: format!("gift_card_{}", rng.digits(7)),
            gift_balance: rng.range(40, 400) as u64,
            reservations: Vec::new(),
            profile_seen: false,
            seen: Vec::new(),
        };
        for _ in 0..rng.range(1, 3) {
            let mut passengers = vec![me.clone()];
            if rng.chance(30) {
                let (_, _, f, l) = *rng.pick(PEOPLE);
                passengers.push(json!({"first_name": f, "last_name": l, "dob": dob(rng)}));
            }
            st.reservations.push(new_reservation(rng, passengers));
        }
        c.system(policy());
        let target = rng.range(10, 28);
        let opening = *rng.pick(&[
            "Hi, I need some help with my flights.",
            "Hello! I have a question about a reservation.",
            "hey, can you help me with my booking",
            "Bonjour, I need to sort out a trip.",
        ]);
        if rng.chance(50) {
            c.user(opening.to_string());
            c.answer(
                "The user has not identified themselves yet; I need their user id before anything else.",
                "I'd be happy to help. Could you please provide your user ID?".into(),
            );
            c.user(format!("Sure, it's {}.", st.user_id));
            profile(c, &mut st);
            c.answer(
                "",
                format!(
                    "Thank you, {}. I see {} reservation(s) on your profile: {}. What would you like to do today?",
                    st.first,
                    st.reservations.len(),
                    st.reservations.iter().map(|r| r.id.as_str()).collect::<Vec<_>>().join(", ")
                ),
            );
        } else {
            c.user(format!("{opening} My user id is {}.", st.user_id));
            profile(c, &mut st);
            if rng.chance(50) {
                // Agents often read every reservation up front, in one parallel round.
                let all: Vec<usize> = (0..st.reservations.len()).collect();
                details(c, rng, &mut st, &all);
            }
            c.answer(
                "",
                format!(
                    "Hello {} {}! I can see your reservations {}. How can I help with them?",
                    st.first,
                    st.last,
                    st.reservations.iter().map(|r| r.id.as_str()).collect::<Vec<_>>().join(" and ")
                ),
            );
        }
        let mut guard = 0;
        while c.messages.len() < target && guard < 8 {
            guard += 1;
            match rng.below(9) {
                0 => review(c, rng, &mut st),
                1 | 2 => change_flight(c, rng, &mut st),
                3 => cancel(c, rng, &mut st),
                4 => baggage(c, rng, &mut st),
                5 => passengers(c, rng, &mut st),
                6 => book(c, rng, &mut st),
                7 => compensation(c, rng, &mut st),
                _ => policy_question(c, rng, &st),
            }
        }
    }

    fn profile_json(st: &State) -> Value {
        json!({"user_id": st.user_id, "name": {"first_name": st.first, "last_name": st.last},
            "email": format!("{}@example.com", st.user_id.replace('_', ".")), "dob": st.dob,
            "payment_methods": {
                st.card.clone(): {"source": "credit_card", "brand": "visa", "last_four": st.card_last4, "id": st.card},
                st.gift.clone(): {"source": "gift_card", "amount": st.gift_balance, "id": st.gift}},
            "saved_passengers": [], "membership": st.membership,
            "reservations": st.reservations.iter().map(|r| r.id.clone()).collect::<Vec<_>>()})
    }

    fn profile(c: &mut Conv, st: &mut State) {
        c.step(
            "I should look up the user's profile first.",
            vec![("get_user_details", json!({"user_id": st.user_id}))],
            vec![compact(&profile_json(st))],
        );
        st.profile_seen = true;
    }

    /// Reservation details in the context, fetched if needed (one call each, or in parallel).
    fn details(c: &mut Conv, rng: &mut Rng, st: &mut State, which: &[usize]) {
        let missing: Vec<usize> = which.iter().copied().filter(|r| !st.seen.contains(r)).collect();
        if missing.is_empty() {
            return;
        }
        let calls_results: Vec<((&str, Value), String)> = missing
            .iter()
            .map(|&r| {
                let res = &st.reservations[r];
                (
                    ("get_reservation_details", json!({"reservation_id": res.id})),
                    compact(&res.json(&st.user_id, &st.card)),
                )
            })
            .collect();
        if missing.len() > 1 && rng.chance(85) {
            let (calls, results) = calls_results.into_iter().unzip();
            c.step("I can fetch all the reservations at once.", calls, results);
        } else {
            for (call, result) in calls_results {
                c.step("Let me check the reservation details.", vec![call], vec![result]);
            }
        }
        st.seen.extend(missing);
    }

    fn review(c: &mut Conv, rng: &mut Rng, st: &mut State) {
        c.user("Can you tell me what's on each of my reservations?".into());
        let all: Vec<usize> = (0..st.reservations.len()).collect();
        st.seen.clear();
        details(c, rng, st, &all);
        let lines: Vec<String> = st
            .reservations
            .iter()
            .map(|r| {
                let f = &r.flights[0];
                format!(
                    "- {}: {} ({} to {}), {} on {}, {} cabin, {} passenger(s)",
                    r.id,
                    r.route(),
                    city(f.origin),
                    city(f.destination),
                    f.number,
                    f.date,
                    r.cabin,
                    r.passengers.len()
                )
            })
            .collect();
        c.answer("", format!("Here is what I found:\n{}\nIs there anything you'd like to change?", lines.join("\n")));
    }

    fn change_flight(c: &mut Conv, rng: &mut Rng, st: &mut State) {
        let r = rng.below(st.reservations.len());
        let (iso, spoken) = date(rng);
        let rid = st.reservations[r].id.clone();
        if rng.chance(20) {
            // A mistyped id: the lookup fails, the agent asks, the user corrects it.
            let typo: String = rid.chars().rev().collect();
            c.user(format!("I'd like to move reservation {typo} to {spoken}, same route please."));
            c.step(
                "Look up the reservation the user gave.",
                vec![("get_reservation_details", json!({"reservation_id": typo}))],
                vec![format!("Error: reservation {typo} not found")],
            );
            c.answer(
                "",
                format!("I couldn't find a reservation {typo}. Could you double-check the reservation number?"),
            );
            c.user(format!("Oops, sorry — it's {rid}."));
            st.seen.retain(|&k| k != r);
        } else {
            c.user(format!("I'd like to move reservation {rid} to {spoken}, same route please."));
        }
        details(c, rng, st, &[r]);
        let res = &st.reservations[r];
        if res.cabin == "basic_economy" {
            c.step(
                "Basic economy cannot be modified under the policy.",
                vec![(
                    "think",
                    json!({"thought": format!(
                    "Reservation {rid} is basic economy, and basic economy flights cannot be modified.")}),
                )],
                vec![String::new()],
            );
            c.answer("", format!("I'm sorry, but reservation {rid} is in basic economy, and basic economy flights cannot be modified. Would you like to do something else?"));
            return;
        }
        let (o, d, cabin) = (res.flights[0].origin, res.flights[0].destination, res.cabin);
        let old_price = res.flights[0].price;
        let search = json!({"origin": o, "destination": d, "date": iso});
        let mut options = Vec::new();
        for _ in 0..rng.range(0, 3) {
            let number = flight_number(rng);
            let price = rng.range(60, 480) as u64;
            options.push((number, price));
        }
        let listing = |opts: &[(String, u64)], stops: bool| -> String {
            let rows: Vec<Value> = opts
                .iter()
                .map(|(n, p)| {
                    let mut f = json!({"flight_number": n, "origin": o, "destination": d,
                        "scheduled_departure_time_est": "07:00:00", "scheduled_arrival_time_est": "10:35:00",
                        "status": "available", "available_seats": {"basic_economy": 4, "economy": 11, "business": 2},
                        "prices": {"basic_economy": p / 2, "economy": p, "business": p * 3}});
                    if stops {
                        f["stop"] = json!("ORD");
                    }
                    f
                })
                .collect();
            compact(&Value::Array(rows))
        };
        c.step(
            "I need flights on the new date on the same route.",
            vec![("search_direct_flight", search.clone())],
            vec![listing(&options, false)],
        );
        if options.is_empty() {
            options.push((flight_number(rng), rng.range(60, 480) as u64));
            c.step(
                "No direct flights; one-stop options may work.",
                vec![("search_onestop_flight", search)],
                vec![listing(&options, true)],
            );
        }
        let prices = |p: u64| if cabin == "business" { p * 3 } else { p };
        let offer: Vec<String> = options.iter().map(|(n, p)| format!("{n} at ${} ({cabin})", prices(*p))).collect();
        c.answer("", format!("On {iso} I found: {}. Which flight would you like, and which payment method should cover any fare difference?", offer.join("; ")));
        let (number, price) = options[rng.below(options.len())].clone();
        let pay_gift = rng.chance(40);
        c.user(format!("Let's do {number}. Please use my {}.", if pay_gift { "gift card" } else { "credit card" }));
        let payment = if pay_gift { st.gift.clone() } else { st.card.clone() };
        let difference = prices(price) as i64 - prices(old_price) as i64;
        let mut owed = String::new();
        if rng.chance(50) {
            c.step(
                "Work out the fare difference before confirming.",
                vec![("calculate", json!({"expression": format!("{} - {}", prices(price), prices(old_price))}))],
                vec![format!("{difference}.0")],
            );
            owed = if difference >= 0 {
                format!(" The fare difference is ${difference}.")
            } else {
                format!(" You will be refunded ${}.", -difference)
            };
        }
        let mut flights = vec![json!({"flight_number": number, "date": iso})];
        for f in &st.reservations[r].flights[1..] {
            flights.push(json!({"flight_number": f.number, "date": f.date}));
        }
        c.answer("", format!("To confirm: reservation {rid} will fly {number} on {iso} in {cabin}, keeping the rest of the trip, paid with {payment}.{owed} Shall I proceed (yes/no)?"));
        c.user("Yes, go ahead.".into());
        let args = json!({"reservation_id": rid, "cabin": cabin, "flights": flights, "payment_id": payment});
        if rng.chance(40) {
            c.step(
                "Note what was confirmed before acting.",
                vec![(
                    "think",
                    json!({"thought": format!("The user confirmed {number} on {iso} for {rid}, paid with {payment}.")}),
                )],
                vec![String::new()],
            );
        }
        if rng.chance(20) {
            c.step(
                "Submit the change.",
                vec![("update_reservation_flights", args)],
                vec![format!("Error: flight {number} is not available on {iso} in {cabin}")],
            );
            c.answer("", format!("I'm sorry — the system reports that {number} is no longer available on {iso} in {cabin}. Would you like to look at another date?"));
            return;
        }
        let res = &mut st.reservations[r];
        res.flights[0].number = number.clone();
        res.flights[0].date = iso.clone();
        res.flights[0].price = prices(price);
        let updated = res.json(&st.user_id, &payment);
        c.step("Submit the change.", vec![("update_reservation_flights", args)], vec![compact(&updated)]);
        c.answer(
            "",
            format!(
                "Done! Reservation {rid} is now on {number} on {iso}. Any fare difference was charged to {payment}."
            ),
        );
    }

    fn cancel(c: &mut Conv, rng: &mut Rng, st: &mut State) {
        let r = rng.below(st.reservations.len());
        let rid = st.reservations[r].id.clone();
        let reason = *rng.pick(&["my plans changed", "I'm sick and can't travel", "the airline cancelled my flight"]);
        c.user(format!("Please cancel reservation {rid}, {reason}."));
        details(c, rng, st, &[r]);
        let res = &st.reservations[r];
        let allowed = res.recent || res.cabin == "business" || res.insurance;
        if !allowed {
            c.step("Check the cancellation rules against this reservation.",
                vec![("think", json!({"thought": format!(
                    "Reservation {rid} was not booked within 24 hours, is {} and has no travel insurance, so it cannot be cancelled.", res.cabin)}))],
                vec![String::new()]);
            c.answer("", format!("I'm sorry, but reservation {rid} can't be cancelled: it was booked more than 24 hours ago, it is {} class, and it has no travel insurance. I can help you change it instead if you like.", res.cabin));
            return;
        }
        c.answer("", format!("Reservation {rid} ({}) qualifies for cancellation. The refund goes back to the original payment method within 5 to 7 business days. Do you want me to cancel it (yes/no)?", res.route()));
        c.user("yes".into());
        if rng.chance(20) {
            c.step(
                "",
                vec![("cancel_reservation", json!({"reservation_id": rid}))],
                vec![compact(
                    &json!({"error": format!("Reservation {rid} contains a flight that has already departed.")}),
                )],
            );
            c.answer("", format!("The cancellation failed: the system says reservation {rid} contains a flight that has already departed, so I can't cancel it. Would you like me to transfer you to a human agent?"));
            return;
        }
        let mut done = st.reservations[r].json(&st.user_id, &st.card);
        done["status"] = json!("cancelled");
        c.step(
            "The user confirmed; cancel now.",
            vec![("cancel_reservation", json!({"reservation_id": rid}))],
            vec![compact(&done)],
        );
        c.answer(
            "",
            format!(
                "Reservation {rid} has been cancelled. The refund will reach {} within 5 to 7 business days.",
                st.card
            ),
        );
    }

    fn baggage(c: &mut Conv, rng: &mut Rng, st: &mut State) {
        let r = rng.below(st.reservations.len());
        let rid = st.reservations[r].id.clone();
        let add = rng.range(1, 2) as u64;
        let words = ["zero", "one", "two"];
        c.user(format!("I want to add {} checked bag(s) to {rid}.", words[add as usize]));
        details(c, rng, st, &[r]);
        let res = &st.reservations[r];
        let total = res.bags + add;
        c.answer("", format!("With {add} more, reservation {rid} will have {total} checked bags. The extra bags cost 50 dollars each. Which payment method should I use: {} or {}?", st.card, st.gift));
        let gift = rng.chance(50);
        c.user(format!("The {} one, please.", if gift { "gift card" } else { "credit card" }));
        let payment = if gift { st.gift.clone() } else { st.card.clone() };
        c.step(
            "Update the bags with the chosen payment.",
            vec![(
                "update_reservation_baggages",
                json!({"reservation_id": rid, "total_baggages": total,
                "nonfree_baggages": add, "payment_id": payment}),
            )],
            vec![compact(&json!({"reservation_id": rid, "total_baggages": total, "nonfree_baggages": add,
                "payment_history": [{"payment_id": payment, "amount": 50 * add}]}))],
        );
        st.reservations[r].bags = total;
        c.answer(
            "",
            format!("All set: {rid} now has {total} checked bags, and {} dollars were charged to {payment}.", 50 * add),
        );
    }

    fn passengers(c: &mut Conv, rng: &mut Rng, st: &mut State) {
        let r = rng.below(st.reservations.len());
        let rid = st.reservations[r].id.clone();
        let (_, _, f, l) = *rng.pick(PEOPLE);
        let born = dob(rng);
        c.user(format!("My friend will travel instead of me on {rid}: {f} {l}, date of birth {born}."));
        details(c, rng, st, &[r]);
        let mut list = st.reservations[r].passengers.clone();
        list[0] = json!({"first_name": f, "last_name": l, "dob": born});
        c.answer(
            "",
            format!("I'll replace the first passenger of {rid} with {f} {l} (born {born}). Confirm (yes/no)?"),
        );
        c.user("Yes, confirmed.".into());
        let mut updated = st.reservations[r].json(&st.user_id, &st.card);
        updated["passengers"] = Value::Array(list.clone());
        c.step(
            "",
            vec![("update_reservation_passengers", json!({"reservation_id": rid, "passengers": list.clone()}))],
            vec![compact(&updated)],
        );
        st.reservations[r].passengers = list;
        c.answer("", format!("Done — {f} {l} is now on reservation {rid}."));
    }

    fn book(c: &mut Conv, rng: &mut Rng, st: &mut State) {
        let a = rng.below(AIRPORTS.len());
        let b = (a + 1 + rng.below(AIRPORTS.len() - 1)) % AIRPORTS.len();
        let (iso, spoken) = date(rng);
        let (o, d) = (AIRPORTS[a], AIRPORTS[b]);
        c.user(format!("I also want to book a one-way trip from {} to {} on {spoken}, economy, just me.", o.1, d.1));
        if rng.chance(50) {
            let all: Map = AIRPORTS.iter().map(|(code, name)| (code.to_string(), json!(name))).collect();
            c.step(
                "I need the airport codes for these cities.",
                vec![("list_all_airports", json!({}))],
                vec![compact(&Value::Object(all))],
            );
        } else {
            c.answer("", format!("Just to be sure: {} is {} and {} is {}, right?", o.1, o.0, d.1, d.0));
            c.user(format!("Yes, {} to {}.", o.0, d.0));
        }
        let number = flight_number(rng);
        let price = rng.range(90, 420) as u64;
        c.step("Search direct flights.", vec![("search_direct_flight", json!({"origin": o.0, "destination": d.0, "date": iso}))],
            vec![compact(&json!([{"flight_number": number, "origin": o.0, "destination": d.0,
                "scheduled_departure_time_est": "13:10:00", "scheduled_arrival_time_est": "16:55:00", "status": "available",
                "available_seats": {"basic_economy": 0, "economy": 7, "business": 3},
                "prices": {"basic_economy": price / 2, "economy": price, "business": price * 3}}]))]);
        c.answer("", format!("There is {number} on {iso} in economy for ${price}. Shall I book it with one checked bag, no insurance, paid with your credit card {}?", st.card));
        c.user("Yes please.".into());
        let free = match st.membership {
            "regular" => 1,
            "silver" => 2,
            _ => 3,
        };
        let nonfree = if free >= 1 { 0 } else { 1 };
        let args = json!({"user_id": st.user_id, "origin": o.0, "destination": d.0, "flight_type": "one_way",
            "cabin": "economy", "flights": [{"flight_number": number, "date": iso}],
            "passengers": [{"first_name": st.first, "last_name": st.last, "dob": st.dob}],
            "payment_methods": [{"payment_id": st.card, "amount": price}],
            "total_baggages": 1, "nonfree_baggages": nonfree, "insurance": "no"});
        let res = Reservation {
            id: rng.code(6),
            cabin: "economy",
            flights: vec![Flight { number: number.clone(), origin: o.0, destination: d.0, date: iso.clone(), price }],
            passengers: vec![json!({"first_name": st.first, "last_name": st.last, "dob": st.dob})],
            insurance: false,
            recent: true,
            bags: 1,
        };
        c.step(
            "Book it as confirmed.",
            vec![("book_reservation", args)],
            vec![compact(&res.json(&st.user_id, &st.card))],
        );
        c.answer("", format!("Booked! Your new reservation is {} on {number}, {iso}, {} to {}.", res.id, o.0, d.0));
        st.seen.push(st.reservations.len());
        st.reservations.push(res);
    }

    fn compensation(c: &mut Conv, rng: &mut Rng, st: &mut State) {
        let r = rng.below(st.reservations.len());
        let rid = st.reservations[r].id.clone();
        c.user(format!(
            "Honestly I'm upset — my flight on {rid} was delayed by four hours last time. What can you do for me?"
        ));
        details(c, rng, st, &[r]);
        let res = &st.reservations[r];
        let n = res.passengers.len() as u64;
        if st.membership == "regular" && !res.insurance {
            c.answer("", format!("I'm sorry about the delay. As a regular member without travel insurance on {rid}, I'm unable to offer compensation for it."));
            return;
        }
        let amount = 50 * n;
        if n > 1 {
            c.step(
                "50 dollars per passenger.",
                vec![("calculate", json!({"expression": format!("50 * {n}")}))],
                vec![format!("{amount}.0")],
            );
        }
        let cert = format!("certificate_{}", rng.digits(7));
        c.step(
            "Send the certificate for the delay.",
            vec![("send_certificate", json!({"user_id": st.user_id, "amount": amount}))],
            vec![format!("Certificate {cert} added to user {} with amount {amount}.", st.user_id)],
        );
        c.answer(
            "",
            format!(
                "I'm sorry for the trouble. I've added a {amount}-dollar travel certificate ({cert}) to your profile."
            ),
        );
    }

    fn policy_question(c: &mut Conv, rng: &mut Rng, st: &State) {
        let q = *rng.pick(&[
            "How many free checked bags do I get in economy?",
            "Can basic economy tickets be changed?",
            "Is there a way to speak to a real person about a lost suitcase?",
        ]);
        c.user(q.to_string());
        if q.contains("real person") {
            c.step("Lost luggage is outside what I can do; transfer.",
                vec![("transfer_to_human_agents", json!({"summary": format!(
                    "User {} asks about a lost suitcase, which cannot be handled within the scope of the agent's actions.", st.user_id)}))],
                vec!["Transfer successful".into()]);
            c.answer("", "Transfer successful — a human agent will take it from here. YOU ARE BEING TRANSFERRED TO A HUMAN AGENT. PLEASE HOLD ON.".into());
            return;
        }
        let (think, text) = if q.contains("bags") {
            let n = match st.membership {
                "regular" => 1,
                "silver" => 2,
                _ => 3,
            };
            (
                "The policy gives free bags by membership and cabin.",
                format!(
                    "As a {} member you get {n} free checked bag(s) in economy; each extra bag costs 50 dollars.",
                    st.membership
                ),
            )
        } else {
            (
                "The policy says basic economy flights cannot be modified.",
                "No — basic economy flights cannot be modified. Economy and business can be changed.".to_string(),
            )
        };
        c.answer(think, text);
    }

    type Map = serde_json::Map<String, Value>;
}

mod retail {
    use super::{compact, json, tool, Conv, Rng, Value, PEOPLE};

    pub fn tools() -> Value {
        let id = |d: &str| json!({"type": "string", "description": d});
        let ids = |d: &str| json!({"type": "array", "items": {"type": "string"}, "description": d});
        json!([
            tool(
                "calculate",
                "Calculate the result of an arithmetic expression.",
                json!({"expression": id("Numbers, + - * / ( ) and spaces only.")}),
                &["expression"]
            ),
            tool(
                "cancel_pending_order",
                "Cancel a pending order.",
                json!({
                "order_id": id("The order id, e.g. '#W0000000'."),
                "reason": {"type": "string", "enum": ["no longer needed", "ordered by mistake"]}}),
                &["order_id", "reason"]
            ),
            tool(
                "exchange_delivered_order_items",
                "Exchange items of a delivered order for other variants of the same product.",
                json!({
                "order_id": id("e.g. '#W0000000'"), "item_ids": ids("Items to exchange."),
                "new_item_ids": ids("The new items, in the same order."), "payment_method_id": id("For the price difference.")}),
                &["order_id", "item_ids", "new_item_ids", "payment_method_id"]
            ),
            tool(
                "find_user_id_by_email",
                "Find a user id by email.",
                json!({"email": id("e.g. john@example.com")}),
                &["email"]
            ),
            tool(
                "find_user_id_by_name_zip",
                "Find a user id by name and zip code.",
                json!({
                "first_name": id("First name."), "last_name": id("Last name."), "zip": id("e.g. 12345")}),
                &["first_name", "last_name", "zip"]
            ),
            tool(
                "get_order_details",
                "Get the status and details of an order.",
                json!({"order_id": id("e.g. '#W0000000'")}),
                &["order_id"]
            ),
            tool(
                "get_product_details",
                "Get the inventory details of a product.",
                json!({"product_id": id("e.g. '6086499569'")}),
                &["product_id"]
            ),
            tool(
                "get_user_details",
                "Get the details of a user.",
                json!({"user_id": id("e.g. sara_doe_496")}),
                &["user_id"]
            ),
            tool("list_all_product_types", "List the name and product id of every product type.", json!({}), &[]),
            tool(
                "modify_pending_order_address",
                "Modify the shipping address of a pending order.",
                json!({
                "order_id": id("e.g. '#W0000000'"), "address": {"type": "object", "properties": {
                    "address1": {"type": "string"}, "address2": {"type": "string"}, "city": {"type": "string"},
                    "state": {"type": "string"}, "country": {"type": "string"}, "zip": {"type": "string"}},
                    "required": ["address1", "city", "country", "zip"]}}),
                &["order_id", "address"]
            ),
            tool(
                "return_delivered_order_items",
                "Return some items of a delivered order.",
                json!({
                "order_id": id("e.g. '#W0000000'"), "item_ids": ids("Items to return."),
                "payment_method_id": id("Where the refund goes: the original payment method or a gift card.")}),
                &["order_id", "item_ids", "payment_method_id"]
            ),
            tool(
                "think",
                "Think about something; it gets no new information and changes nothing.",
                json!({"thought": id("A thought to think about.")}),
                &["thought"]
            ),
            tool(
                "transfer_to_human_agents",
                "Transfer the user to a human agent, with a summary of the issue.",
                json!({"summary": id("A summary of the user's issue.")}),
                &["summary"]
            ),
            tool(
                "modify_user_address",
                "Modify the default address of a user.",
                json!({
                "user_id": id("The user id."), "address": {"type": "object", "properties": {
                    "address1": {"type": "string"}, "address2": {"type": "string"}, "city": {"type": "string"},
                    "state": {"type": "string"}, "country": {"type": "string"}, "zip": {"type": "string"}},
                    "required": ["address1", "city", "country", "zip"]}}),
                &["user_id", "address"]
            ),
        ])
    }

    fn policy() -> String {
        "# Retail agent policy\n\n\
As a retail agent, you can help users cancel or modify pending orders, return or exchange delivered \
orders, modify their default user address, or provide information about their own profile, orders, and \
related products.\n\n\
- At the beginning of the conversation, you have to authenticate the user identity by locating their user \
id via email, or via name + zip code. This has to be done even when the user already provides the user id.\n\
- Before taking consequential actions that update the database (cancel, modify, return, exchange), you \
have to list the action detail and obtain explicit user confirmation (yes) to proceed.\n\
- You should not make up any information or knowledge or procedures not provided from the user or the \
tools.\n\n\
## Cancel pending order\n\n\
An order can only be cancelled if its status is 'pending'. The reason must be either 'no longer needed' \
or 'ordered by mistake'. The refund goes to the original payment method; gift card refunds are immediate, \
others take 5 to 7 business days.\n\n\
## Return delivered order\n\n\
An order can be returned if its status is 'delivered'. The refund must go to the original payment method \
or an existing gift card.\n\n\
## Exchange delivered order\n\n\
Items can only be exchanged for a different option of the same product; the price difference is paid or \
refunded with a payment method of the user."
            .to_string()
    }

    const PRODUCTS: &[(&str, &str, &[&str])] = &[
        ("T-Shirt", "9523456873", &["blue, M", "black, L", "white, S"]),
        ("Water Bottle", "8310926033", &["500ml, stainless", "1000ml, glass"]),
        ("Headphones", "6992792935", &["wireless, black", "wired, white"]),
        ("Hiking Boots", "7363354090", &["size 9, leather", "size 10, synthetic"]),
        ("Kaffeemühle", "2524789262", &["manual, ceramic", "electric, steel"]),
        ("Desk Lamp", "6817146515", &["LED, white", "LED, black"]),
    ];

    struct Item {
        name: &'static str,
        product_id: &'static str,
        item_id: String,
        option: &'static str,
        options: &'static [&'static str],
        price: f64,
    }

    struct Order {
        id: String,
        status: &'static str,
        items: Vec<Item>,
        payment: String,
    }

    impl Order {
        fn json(&self, user_id: &str) -> Value {
            let items: Vec<Value> = self
                .items
                .iter()
                .map(|i| {
                    json!({"name": i.name, "product_id": i.product_id, "item_id": i.item_id,
                    "price": i.price, "options": {"variant": i.option}})
                })
                .collect();
            let total: f64 = self.items.iter().map(|i| i.price).sum();
            json!({"order_id": self.id, "user_id": user_id, "status": self.status, "items": items,
                "payment_history": [{"transaction_type": "payment", "amount": (total * 100.0).round() / 100.0,
                    "payment_method_id": self.payment}]})
        }
    }

    pub fn conversation(c: &mut Conv, rng: &mut Rng) {
        let (a, b, first, last) = *rng.pick(PEOPLE);
        let user_id = format!("{a}_{b}_{}", rng.digits(4));
        let email = format!("{a}.{b}{}@example.com", rng.digits(2));
        let zip = rng.digits(5);
        let card = format!("credit_card_{}", rng.digits(7));
        let gift = format!("gift_card_{}", rng.digits(7));
        let mut orders: Vec<Order> = (0..rng.range(1, 3))
            .map(|_| Order {
                id: format!("#W{}", rng.digits(7)),
                status: rng.word(&["pending", "delivered", "processed"]),
                items: (0..rng.range(1, 3))
                    .map(|_| {
                        let (name, pid, options) = *rng.pick(PRODUCTS);
                        Item {
                            name,
                            product_id: pid,
                            item_id: rng.digits(10),
                            option: rng.word(options),
                            options,
                            price: rng.range(1000, 40000) as f64 / 100.0,
                        }
                    })
                    .collect(),
                payment: if rng.chance(70) { card.clone() } else { gift.clone() },
            })
            .collect();
        c.system(policy());
        let target = rng.range(10, 34);
        // Authentication, by email or by name and zip.
        if rng.chance(50) {
            c.user(format!("Hi! I need help with an order. My email is {email}."));
            c.step(
                "Authenticate by email first.",
                vec![("find_user_id_by_email", json!({"email": email}))],
                vec![user_id.clone()],
            );
        } else {
            c.user("Hello, I want to check on something I ordered.".into());
            c.answer(
                "The policy requires authentication before anything else.",
                "Sure! First I need to verify your identity: could you give me your email, or your name and zip code?"
                    .into(),
            );
            c.user(format!("I'm {first} {last}, zip {zip}."));
            c.step(
                "Authenticate by name and zip.",
                vec![("find_user_id_by_name_zip", json!({"first_name": first, "last_name": last, "zip": zip}))],
                vec![user_id.clone()],
            );
        }
        let profile = json!({"user_id": user_id, "name": {"first_name": first, "last_name": last},
            "address": {"address1": format!("{} Elm Street", rng.range(10, 999)), "address2": "", "city": "Portland",
                "state": "OR", "country": "USA", "zip": zip},
            "email": email,
            "payment_methods": {card.clone(): {"source": "credit_card", "brand": "mastercard", "id": card},
                gift.clone(): {"source": "gift_card", "balance": rng.range(0, 300), "id": gift}},
            "orders": orders.iter().map(|o| o.id.clone()).collect::<Vec<_>>()});
        c.step(
            "Now the profile, for the orders.",
            vec![("get_user_details", json!({"user_id": user_id}))],
            vec![compact(&profile)],
        );
        let all: Vec<(&str, Value)> = orders.iter().map(|o| ("get_order_details", json!({"order_id": o.id}))).collect();
        let results: Vec<String> = orders.iter().map(|o| compact(&o.json(&user_id))).collect();
        if all.len() > 1 && rng.chance(85) {
            c.step("Fetch every order at once.", all, results);
        } else {
            for (call, result) in all.into_iter().zip(results) {
                c.step("Check the order.", vec![call], vec![result]);
            }
        }
        let summary: Vec<String> =
            orders.iter().map(|o| format!("{} ({}, {} item(s))", o.id, o.status, o.items.len())).collect();
        c.answer(
            "",
            format!(
                "Thanks, {first}, you're verified. Your orders: {}. What would you like to do?",
                summary.join("; ")
            ),
        );
        // Each (order, kind of request) at most once: users do not ask the same thing twice.
        let mut done: Vec<(usize, &str, bool)> = Vec::new();
        let mut guard = 0;
        while c.messages.len() < target && guard < 12 {
            guard += 1;
            let o = rng.below(orders.len());
            let pick = rng.below(3);
            let status = orders[o].status;
            let key = (o, status, pick == 0 && matches!(status, "pending" | "delivered"));
            if done.contains(&key) {
                continue;
            }
            done.push(key);
            let order = &mut orders[o];
            let oid = order.id.clone();
            match (order.status, pick) {
                ("pending", 0) => {
                    c.user(format!("Please cancel {oid}, I ordered it by mistake."));
                    c.answer("", format!("Order {oid} is pending, so it can be cancelled for the reason 'ordered by mistake'. The refund goes to {}. Proceed (yes/no)?", order.payment));
                    c.user("Yes.".into());
                    order.status = "cancelled";
                    c.step(
                        "Cancel as confirmed.",
                        vec![("cancel_pending_order", json!({"order_id": oid, "reason": "ordered by mistake"}))],
                        vec![compact(&order.json(&user_id))],
                    );
                    c.answer("", format!("Order {oid} is now cancelled; the refund goes back to {}.", order.payment));
                }
                ("pending", _) => {
                    let street = format!("{} Rue de la Paix", rng.range(1, 99));
                    let new_zip = rng.digits(5);
                    c.user(format!("Can you ship {oid} to {street}, Apt 4, Montréal, QC, Canada, {new_zip} instead?"));
                    c.answer("", format!("I'll change the shipping address of {oid} to {street}, Apt 4, Montréal, QC, Canada, {new_zip}. Confirm (yes/no)?"));
                    c.user("yes please".into());
                    let address = json!({"address1": street, "address2": "Apt 4", "city": "Montréal", "state": "QC",
                        "country": "Canada", "zip": new_zip});
                    let mut result = order.json(&user_id);
                    result["address"] = address.clone();
                    c.step(
                        "Update the address.",
                        vec![("modify_pending_order_address", json!({"order_id": oid, "address": address}))],
                        vec![compact(&result)],
                    );
                    c.answer("", format!("Done: {oid} will now ship to {street}, Montréal."));
                }
                ("delivered", 0) => {
                    let item = &order.items[0];
                    let (iid, name, price) = (item.item_id.clone(), item.name, item.price);
                    c.user(format!("The {name} from {oid} doesn't fit my needs. I'd like to return it."));
                    c.answer("", format!("I can return the {name} (item {iid}, ${price}) from {oid}. The refund can go to {} or {}. Which one, and do you confirm?", order.payment, gift));
                    c.user("To the gift card. Yes, confirmed.".into());
                    if rng.chance(20) {
                        c.step(
                            "",
                            vec![(
                                "return_delivered_order_items",
                                json!({"order_id": oid, "item_ids": [iid], "payment_method_id": gift}),
                            )],
                            vec!["Error: non-delivered order cannot be returned".into()],
                        );
                        c.answer("", format!("The system refused the return of {oid} (it says the order is not delivered). Shall I transfer you to a colleague who can look into it?"));
                        c.user("Yes, please transfer me.".into());
                        c.step("", vec![("transfer_to_human_agents", json!({"summary": format!("User {user_id} wants to return item {iid} of delivered order {oid}, but the system says the order is not delivered.")}))],
                            vec!["Transfer successful".into()]);
                        c.answer(
                            "",
                            "Transfer successful: you are being transferred to a human agent. Please hold on.".into(),
                        );
                        continue;
                    }
                    let mut result = order.json(&user_id);
                    result["status"] = json!("return requested");
                    c.step(
                        "Request the return as confirmed.",
                        vec![(
                            "return_delivered_order_items",
                            json!({"order_id": oid, "item_ids": [iid], "payment_method_id": gift}),
                        )],
                        vec![compact(&result)],
                    );
                    c.answer(
                        "",
                        format!("The return of the {name} is requested; ${price} will be refunded to {gift}."),
                    );
                }
                ("delivered", _) => {
                    let item = &order.items[0];
                    let (iid, name, pid) = (item.item_id.clone(), item.name, item.product_id);
                    let other = *item.options.iter().find(|o| **o != item.option).unwrap_or(&item.option);
                    c.user(format!("Could I exchange the {name} in {oid} for the {other} version?"));
                    let new_id = rng.digits(10);
                    let variants: Vec<Value> = item
                        .options
                        .iter()
                        .map(|opt| {
                            let vid = if *opt == other {
                                new_id.clone()
                            } else if *opt == item.option {
                                iid.clone()
                            } else {
                                format!("9{}", &new_id[1..])
                            };
                            json!({"item_id": vid, "options": {"variant": opt}, "available": true, "price": item.price})
                        })
                        .collect();
                    c.step(
                        "Look up the product's variants.",
                        vec![("get_product_details", json!({"product_id": pid}))],
                        vec![compact(&json!({"name": name, "product_id": pid, "variants": variants}))],
                    );
                    c.answer("", format!("The {other} {name} is available (item {new_id}) at the same price. Exchange item {iid} for {new_id} in {oid}, price difference (none) on {card}? (yes/no)"));
                    c.user("Yes!".into());
                    let mut result = order.json(&user_id);
                    result["status"] = json!("exchange requested");
                    c.step("", vec![("exchange_delivered_order_items", json!({"order_id": oid, "item_ids": [iid], "new_item_ids": [new_id], "payment_method_id": card}))],
                        vec![compact(&result)]);
                    c.answer("", format!("Your exchange for {oid} is requested: you'll receive the {other} {name}."));
                }
                _ => {
                    c.user(format!("When will {oid} arrive? And what's the total I paid?"));
                    let total: f64 = order.items.iter().map(|i| i.price).sum();
                    let expr: Vec<String> = order.items.iter().map(|i| format!("{}", i.price)).collect();
                    if order.items.len() > 1 {
                        c.step(
                            "Add the item prices.",
                            vec![("calculate", json!({"expression": expr.join(" + ")}))],
                            vec![format!("{}", (total * 100.0).round() / 100.0)],
                        );
                    }
                    c.answer(
                        "",
                        format!(
                            "Order {oid} is {} and will ship soon; you paid ${} in total.",
                            order.status,
                            (total * 100.0).round() / 100.0
                        ),
                    );
                }
            }
        }
    }
}
