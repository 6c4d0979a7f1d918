//! The subjects of one prefix.

use std::fmt::Write as _;

use zocket_runtime::cluster::Route;

pub(crate) struct Subjects {
    prefix: String,
    /// Multi-room sends, client ids and broadcasts.
    pub(crate) all: String,
    /// Heartbeats and goodbyes.
    pub(crate) heartbeat: String,
    /// Membership queries.
    pub(crate) query: String,
}

impl Subjects {
    pub(crate) fn new(prefix: &str) -> Self {
        Subjects {
            prefix: prefix.to_owned(),
            all: format!("{prefix}.all"),
            heartbeat: format!("{prefix}.hb"),
            query: format!("{prefix}.q"),
        }
    }

    /// `<prefix>.r.<room name in hex>`: a room name may hold any character,
    /// a subject token may not.
    pub(crate) fn room(&self, room: &str) -> String {
        let mut subject = String::with_capacity(self.prefix.len() + 3 + room.len() * 2);
        subject.push_str(&self.prefix);
        subject.push_str(".r.");
        if room.is_empty() {
            // An empty token is not a valid subject.
            subject.push('_');
        }
        for byte in room.bytes() {
            let _ = write!(subject, "{byte:02x}");
        }
        subject
    }

    /// Where a publish goes.
    pub(crate) fn route(&self, route: &Route) -> String {
        match route {
            Route::Room(room) => self.room(room),
            Route::All => self.all.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_names_become_hex_tokens() {
        let subjects = Subjects::new("app.v1");
        assert_eq!(subjects.room("a b.*"), "app.v1.r.6120622e2a");
        assert_eq!(subjects.room(""), "app.v1.r._");
        assert_eq!(subjects.room("é"), "app.v1.r.c3a9");
        assert_eq!(subjects.route(&Route::Room("x".into())), "app.v1.r.78");
        assert_eq!(subjects.route(&Route::All), "app.v1.all");
        assert_eq!(subjects.heartbeat, "app.v1.hb");
        assert_eq!(subjects.query, "app.v1.q");
    }
}
