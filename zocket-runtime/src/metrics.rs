//! Every metric zocket records: names, label keys and label values in one
//! place, so call sites, `docs/operations.md` and dashboards cannot drift
//! apart. Call sites elsewhere are one line calling a helper here.
//!
//! Metrics go through the [`metrics`](https://docs.rs/metrics) facade:
//! install any recorder (e.g. `metrics-exporter-prometheus`, as the chat
//! example does) and they appear; without one, each helper is a
//! thread-local read and a no-op.
//! Every key is built ahead of time, never per call: the facade's own
//! macros allocate a label list on every call whose label value is not a
//! literal, recorder or not, and fan-out and the read loop are hot paths.
//!
//! Label values come only from the router's own static message type names
//! and the documented error and close codes; anything else is
//! [`UNKNOWN`], so a client can never grow the label set.
//!
//! ```no_run
//! // With the Prometheus exporter: install once per process, then render
//! // `handle.render()` on `GET /metrics`.
//! # fn demo() {
//! zocket_runtime::metrics::describe();
//! # }
//! ```

use std::time::Instant;

use ::metrics::{Key, Label, Level, Metadata, Unit};
use zocket_core::close;
use zocket_core::error::ErrorCode;

/// Gauge: open WebSocket connections of router endpoints.
pub const CONNECTIONS: &str = "zocket_connections";
/// Gauge: rooms with at least one member on this server.
pub const ROOMS: &str = "zocket_rooms";
/// Counter, label [`TYPE`]: messages read from clients and given to the
/// router (those the connection-wide rate limit drops are not: they are
/// [`ERRORS`] `rate_limited`).
pub const MESSAGES_RECEIVED: &str = "zocket_messages_received_total";
/// Counter, label [`TYPE`]: send calls (`to_room`, `to`, `broadcast`),
/// one per call however many recipients it has.
pub const MESSAGES_SENT: &str = "zocket_messages_sent_total";
/// Counter: message frames queued to connections by sends, this node's
/// and other nodes' (one per recipient).
pub const DELIVERIES: &str = "zocket_deliveries_total";
/// Counter, label [`CODE`]: `zocket.error` frames sent to clients.
pub const ERRORS: &str = "zocket_errors_total";
/// Counter, label [`CODE`]: connections ended, by close code.
pub const CLOSES: &str = "zocket_closes_total";
/// Counter: outgoing queues that overflowed (the connection closes with
/// 4008).
pub const QUEUE_OVERFLOWS: &str = "zocket_queue_overflows_total";
/// Histogram, label [`TYPE`], seconds: how long handlers ran (middleware
/// included).
pub const HANDLER_SECONDS: &str = "zocket_handler_seconds";
/// Counter: sends a cluster adapter published to the bus.
pub const CLUSTER_PUBLISHED: &str = "zocket_cluster_published_total";
/// Counter: sends received from other nodes and delivered here.
pub const CLUSTER_RECEIVED: &str = "zocket_cluster_received_total";
/// Counter: sends a cluster adapter dropped (bus unreachable past its
/// buffer, or a publish failed).
pub const CLUSTER_DROPPED: &str = "zocket_cluster_dropped_total";

/// Label key: a message's wire type (`rooms.join`).
pub const TYPE: &str = "type";
/// Label key: an error code (`unknown_type`) or a close code (`1008`).
pub const CODE: &str = "code";
/// Label value for whatever is not one of the router's types or a
/// documented code.
pub const UNKNOWN: &str = "unknown";

/// Suggested histogram buckets for [`HANDLER_SECONDS`], in seconds: from
/// 50 µs (a handler that only sends) to 5 s (one that waits on a slow
/// backend or a client's answer).
pub const HANDLER_SECONDS_BUCKETS: &[f64] = &[
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    2.5, 5.0,
];

/// The close codes counted under their own number: the table in
/// PROTOCOL.md § 7, plus what RFC 6455 reserves for a close frame with no
/// code (1005) and for a connection that ended without a close frame
/// (1006). Any other code a client sends is [`UNKNOWN`].
pub const CLOSE_CODES: &[u16] = &[
    close::NORMAL,
    close::GOING_AWAY,
    close::PROTOCOL_ERROR,
    NO_STATUS,
    NO_CLOSE_FRAME,
    close::INVALID_PAYLOAD,
    close::POLICY_VIOLATION,
    close::MESSAGE_TOO_BIG,
    close::INTERNAL_ERROR,
    close::SLOW_CONSUMER,
];

/// RFC 6455: the client's close frame carried no code.
const NO_STATUS: u16 = 1005;
/// RFC 6455: the connection ended without a close frame (the peer
/// vanished, the network failed).
pub(crate) const NO_CLOSE_FRAME: u16 = 1006;

static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

/// A key known at compile time: no hashing or allocation at run time.
macro_rules! key {
    ($name:expr) => {{
        static KEY: Key = Key::from_static_name($name);
        &KEY
    }};
    ($name:expr, $label:expr => $value:expr) => {{
        static LABELS: [Label; 1] = [Label::from_static_parts($label, $value)];
        static KEY: Key = Key::from_static_parts($name, &LABELS);
        &KEY
    }};
}

/// Registers the description and unit of every metric with the installed
/// recorder (the `# HELP` lines of a Prometheus scrape). Call once, after
/// installing it.
pub fn describe() {
    use ::metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_gauge!(CONNECTIONS, "Open WebSocket connections");
    describe_gauge!(ROOMS, "Rooms with at least one member");
    describe_counter!(MESSAGES_RECEIVED, "Messages received from clients, by type");
    describe_counter!(
        MESSAGES_SENT,
        "Send calls, by type (one per send, however many recipients)"
    );
    describe_counter!(
        DELIVERIES,
        "Message frames queued to connections (one per recipient)"
    );
    describe_counter!(ERRORS, "Error frames sent to clients, by error code");
    describe_counter!(CLOSES, "Connections ended, by close code");
    describe_counter!(
        QUEUE_OVERFLOWS,
        "Outgoing queues that overflowed (closed with 4008)"
    );
    describe_histogram!(HANDLER_SECONDS, Unit::Seconds, "Handler run time, by type");
    describe_counter!(CLUSTER_PUBLISHED, "Sends published to the cluster bus");
    describe_counter!(CLUSTER_RECEIVED, "Sends received from other nodes");
    describe_counter!(CLUSTER_DROPPED, "Sends dropped by the cluster adapter");
}

fn count(key: &Key, n: u64) {
    ::metrics::with_recorder(|r| r.register_counter(key, &METADATA).increment(n));
}

fn gauge(key: &Key, delta: f64) {
    ::metrics::with_recorder(|r| r.register_gauge(key, &METADATA).increment(delta));
}

pub(crate) fn connection_opened() {
    gauge(key!(CONNECTIONS), 1.0);
}

pub(crate) fn connection_closed() {
    gauge(key!(CONNECTIONS), -1.0);
}

pub(crate) fn room_opened() {
    gauge(key!(ROOMS), 1.0);
}

pub(crate) fn room_closed() {
    gauge(key!(ROOMS), -1.0);
}

/// One fan-out's recipients: one increment per send, not per recipient.
pub(crate) fn delivered(recipients: usize) {
    if recipients > 0 {
        count(key!(DELIVERIES), recipients as u64);
    }
}

pub(crate) fn queue_overflow() {
    count(key!(QUEUE_OVERFLOWS), 1);
}

pub(crate) fn cluster_published(sends: u64) {
    if sends > 0 {
        count(key!(CLUSTER_PUBLISHED), sends);
    }
}

pub(crate) fn cluster_received() {
    count(key!(CLUSTER_RECEIVED), 1);
}

pub(crate) fn cluster_dropped() {
    count(key!(CLUSTER_DROPPED), 1);
}

pub(crate) fn error_sent(code: ErrorCode) {
    count(error_key(code), 1);
}

fn error_key(code: ErrorCode) -> &'static Key {
    // Exhaustive: a new code gets its own label or does not compile.
    match code {
        ErrorCode::InvalidJson => key!(ERRORS, CODE => ErrorCode::InvalidJson.as_str()),
        ErrorCode::UnknownType => key!(ERRORS, CODE => ErrorCode::UnknownType.as_str()),
        ErrorCode::InvalidPayload => key!(ERRORS, CODE => ErrorCode::InvalidPayload.as_str()),
        ErrorCode::Refused => key!(ERRORS, CODE => ErrorCode::Refused.as_str()),
        ErrorCode::BinaryUnsupported => {
            key!(ERRORS, CODE => ErrorCode::BinaryUnsupported.as_str())
        }
        ErrorCode::RateLimited => key!(ERRORS, CODE => ErrorCode::RateLimited.as_str()),
        ErrorCode::HandlerError => key!(ERRORS, CODE => ErrorCode::HandlerError.as_str()),
        ErrorCode::RoomLimit => key!(ERRORS, CODE => ErrorCode::RoomLimit.as_str()),
    }
}

/// A connection ended with close `code` (the client's, echoed, or the
/// server's; [`NO_CLOSE_FRAME`] when there was none).
pub(crate) fn closed(code: u16) {
    count(close_key(code), 1);
}

fn close_key(code: u16) -> &'static Key {
    match code {
        close::NORMAL => key!(CLOSES, CODE => "1000"),
        close::GOING_AWAY => key!(CLOSES, CODE => "1001"),
        close::PROTOCOL_ERROR => key!(CLOSES, CODE => "1002"),
        NO_STATUS => key!(CLOSES, CODE => "1005"),
        NO_CLOSE_FRAME => key!(CLOSES, CODE => "1006"),
        close::INVALID_PAYLOAD => key!(CLOSES, CODE => "1007"),
        close::POLICY_VIOLATION => key!(CLOSES, CODE => "1008"),
        close::MESSAGE_TOO_BIG => key!(CLOSES, CODE => "1009"),
        close::INTERNAL_ERROR => key!(CLOSES, CODE => "1011"),
        close::SLOW_CONSUMER => key!(CLOSES, CODE => "4008"),
        _ => key!(CLOSES, CODE => UNKNOWN),
    }
}

/// The keys of one incoming message type.
struct IncomingKeys {
    ty: &'static str,
    received: Key,
    seconds: Key,
}

/// The per-type keys of one router, built once when its server is made:
/// a lookup is a scan of its type names, no allocation.
#[derive(Default)]
pub(crate) struct Types {
    incoming: Box<[IncomingKeys]>,
    outgoing: Box<[(&'static str, Key)]>,
}

fn typed(name: &'static str, ty: &'static str) -> Key {
    Key::from_parts(name, vec![Label::from_static_parts(TYPE, ty)])
}

static UNKNOWN_INCOMING: std::sync::LazyLock<IncomingKeys> =
    std::sync::LazyLock::new(|| IncomingKeys {
        ty: UNKNOWN,
        received: typed(MESSAGES_RECEIVED, UNKNOWN),
        seconds: typed(HANDLER_SECONDS, UNKNOWN),
    });

impl Types {
    pub fn new(incoming: &'static [&'static str], outgoing: &'static [&'static str]) -> Self {
        Types {
            incoming: incoming
                .iter()
                .map(|&ty| IncomingKeys {
                    ty,
                    received: typed(MESSAGES_RECEIVED, ty),
                    seconds: typed(HANDLER_SECONDS, ty),
                })
                .collect(),
            outgoing: outgoing
                .iter()
                .map(|&ty| (ty, typed(MESSAGES_SENT, ty)))
                .collect(),
        }
    }

    /// Counts a message received with wire type `ty` (as the client wrote
    /// it: anything not the router's is [`UNKNOWN`]); the handle times its
    /// handler.
    pub fn received(&self, ty: &str) -> Received<'_> {
        let keys = self
            .incoming
            .iter()
            .find(|k| k.ty == ty)
            .unwrap_or(&UNKNOWN_INCOMING);
        count(&keys.received, 1);
        Received { keys }
    }

    /// Counts one send call of message type `ty`.
    pub fn sent(&self, ty: &str) {
        match self.outgoing.iter().find(|(t, _)| *t == ty) {
            Some((_, key)) => count(key, 1),
            None => count(key!(MESSAGES_SENT, TYPE => UNKNOWN), 1),
        }
    }
}

/// A received message, for timing its handler.
pub(crate) struct Received<'a> {
    keys: &'a IncomingKeys,
}

impl Received<'_> {
    /// The label its metrics carry: the router's name for it, or
    /// [`UNKNOWN`].
    #[cfg(test)]
    fn label(&self) -> &'static str {
        self.keys.ty
    }

    /// Records how long its handler ran, from `started`.
    pub fn handled(&self, started: Instant) {
        let seconds = started.elapsed().as_secs_f64();
        ::metrics::with_recorder(|r| {
            r.register_histogram(&self.keys.seconds, &METADATA)
                .record(seconds)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_labels_are_the_wire_codes() {
        let codes = [
            ErrorCode::InvalidJson,
            ErrorCode::UnknownType,
            ErrorCode::InvalidPayload,
            ErrorCode::Refused,
            ErrorCode::BinaryUnsupported,
            ErrorCode::RateLimited,
            ErrorCode::HandlerError,
            ErrorCode::RoomLimit,
        ];
        for code in codes {
            let key = error_key(code);
            assert_eq!(key.name(), ERRORS);
            let labels: Vec<_> = key.labels().map(|l| (l.key(), l.value())).collect();
            assert_eq!(labels, [(CODE, code.as_str())]);
        }
    }

    #[test]
    fn close_labels_are_the_documented_numbers_and_nothing_else() {
        for &code in CLOSE_CODES {
            let label = close_key(code)
                .labels()
                .next()
                .map(|l| l.value().to_owned());
            assert_eq!(label, Some(code.to_string()));
        }
        for code in [0, 999, 1003, 1010, 3000, 4000, 4999, 65535] {
            assert_eq!(
                close_key(code).labels().next().map(|l| l.value()),
                Some(UNKNOWN)
            );
        }
    }

    /// Every counter call a thread makes: (name, label values, amount).
    #[derive(Default)]
    struct Calls(std::sync::Mutex<Vec<(String, Vec<String>, u64)>>);

    struct Call {
        key: Key,
        calls: std::sync::Arc<Calls>,
    }

    impl ::metrics::CounterFn for Call {
        fn increment(&self, value: u64) {
            let labels = self.key.labels().map(|l| l.value().to_owned()).collect();
            let name = self.key.name().to_owned();
            self.calls.0.lock().unwrap().push((name, labels, value));
        }
        fn absolute(&self, _: u64) {}
    }

    struct Recorder(std::sync::Arc<Calls>);

    impl ::metrics::Recorder for Recorder {
        fn describe_counter(
            &self,
            _: ::metrics::KeyName,
            _: Option<Unit>,
            _: ::metrics::SharedString,
        ) {
        }
        fn describe_gauge(
            &self,
            _: ::metrics::KeyName,
            _: Option<Unit>,
            _: ::metrics::SharedString,
        ) {
        }
        fn describe_histogram(
            &self,
            _: ::metrics::KeyName,
            _: Option<Unit>,
            _: ::metrics::SharedString,
        ) {
        }
        fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> ::metrics::Counter {
            ::metrics::Counter::from_arc(std::sync::Arc::new(Call {
                key: key.clone(),
                calls: self.0.clone(),
            }))
        }
        fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> ::metrics::Gauge {
            ::metrics::Gauge::noop()
        }
        fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> ::metrics::Histogram {
            ::metrics::Histogram::noop()
        }
    }

    #[test]
    fn a_fan_out_is_one_send_and_one_delivery_count_however_many_recipients() {
        use crate::hub::Hub;
        use crate::peer::Peer;
        use crate::send::Sender;
        use zocket_core::ClientId;

        let hub = Hub::new(crate::Config::default())
            .with_types(Types::new(&["rooms.join"], &["rooms.onMessage"]));
        let peers: Vec<_> = (0..5)
            .map(|n| Peer::new(ClientId::from(format!("c{n}")), 16, 1 << 16))
            .collect();
        for peer in &peers {
            hub.join(peer, "general").unwrap();
        }
        let calls = std::sync::Arc::new(Calls::default());
        let recorder = Recorder(calls.clone());
        let delivery = ::metrics::with_local_recorder(&recorder, || {
            let delivery = Sender::new(&hub, None)
                .raw("rooms.onMessage", 1)
                .to_room(["general"]);
            Sender::new(&hub, None)
                .raw("made.up", 2)
                .to_room(["general"]);
            delivery
        });
        assert_eq!(delivery.queued, 5);
        let calls = calls.0.lock().unwrap().clone();
        let owned = |name: &str, label: Option<&str>, n: u64| {
            (
                name.to_owned(),
                label.into_iter().map(str::to_owned).collect::<Vec<_>>(),
                n,
            )
        };
        assert_eq!(
            calls,
            [
                owned(MESSAGES_SENT, Some("rooms.onMessage"), 1),
                owned(DELIVERIES, None, 5),
                owned(MESSAGES_SENT, Some(UNKNOWN), 1),
                owned(DELIVERIES, None, 5),
            ]
        );
    }

    #[test]
    fn only_the_routers_own_types_become_labels() {
        let types = Types::new(&["rooms.join", "rooms.message"], &["rooms.onJoin"]);
        assert_eq!(types.received("rooms.join").label(), "rooms.join");
        assert_eq!(types.received("rooms.onJoin").label(), UNKNOWN);
        assert_eq!(types.received("evil_label_123").label(), UNKNOWN);
        assert_eq!(types.received("").label(), UNKNOWN);
    }
}
