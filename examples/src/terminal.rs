//! The terminal client's commands and the rooms it is in, without I/O, so
//! that what a typed line does is decided (and tested) in one place.

/// What `chat-client` prints at start and on `/help`.
pub const HELP: &str = "\
Type a line to talk in the current room. Commands:
  /join ROOM    join ROOM and talk there
  /leave [ROOM] leave ROOM (the current room without one)
  /who          who is in the current room
  /help         this text
  /quit         leave the chat";

/// The largest line sent as a message: what fits in the server's default
/// `max_message_size` (64 KiB) with the frame around it. A longer one would
/// close the connection with 1009, so it is refused before sending.
pub const MAX_LINE: usize = 60 * 1024;

/// The line printed when the connection drops (not when the user quit):
/// the close code and the server's reason when there are any, never an
/// empty pair of parentheses or a dangling colon.
pub fn disconnected(info: &zocket::client::CloseInfo) -> String {
    match (info.code, info.reason.trim()) {
        (None, _) => "* disconnected".to_owned(),
        (Some(code), "") => format!("* disconnected (close {code})"),
        (Some(code), reason) => format!("* disconnected (close {code}: {reason})"),
    }
}

/// What a typed line asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Command {
    Say(String),
    Join(String),
    /// `None`: the current room.
    Leave(Option<String>),
    Who,
    Help,
    Quit,
    /// A blank line: nothing to do.
    Nothing,
    /// Refused here, never sent: the text says why.
    Refused(String),
}

impl Command {
    pub fn parse(line: &str) -> Command {
        let line = line.trim();
        if line.is_empty() {
            return Command::Nothing;
        }
        let Some(command) = line.strip_prefix('/') else {
            if line.len() > MAX_LINE {
                return Command::Refused(format!(
                    "not sent: the line is {} bytes; the server takes at most {MAX_LINE}",
                    line.len()
                ));
            }
            return Command::Say(line.to_owned());
        };
        let (name, arg) = match command.split_once(char::is_whitespace) {
            Some((name, arg)) => (name, arg.trim()),
            None => (command, ""),
        };
        match (name, arg) {
            ("join", "") => Command::Refused("usage: /join ROOM".into()),
            ("join", room) => Command::Join(room.to_owned()),
            ("leave", "") => Command::Leave(None),
            ("leave", room) => Command::Leave(Some(room.to_owned())),
            ("who", "") => Command::Who,
            ("help", _) => Command::Help,
            ("quit", "") => Command::Quit,
            ("who" | "quit", _) => Command::Refused(format!("/{name} takes no argument")),
            _ => Command::Refused(format!("unknown command /{name}; /help lists them")),
        }
    }
}

/// The rooms this client is in, in the order joined; the last one is where
/// lines go.
#[derive(Debug, Clone, Default)]
pub struct Rooms {
    joined: Vec<String>,
}

impl Rooms {
    pub fn new(first: &str) -> Self {
        Rooms {
            joined: vec![first.to_owned()],
        }
    }

    /// Where a typed line goes, if anywhere.
    pub fn current(&self) -> Option<&str> {
        self.joined.last().map(String::as_str)
    }

    /// Makes `room` the current one; false if it was joined already (then
    /// it is only made current: the server would refuse a second join).
    pub fn join(&mut self, room: &str) -> bool {
        let known = self.joined.iter().position(|r| r == room);
        if let Some(i) = known {
            let room = self.joined.remove(i);
            self.joined.push(room);
        } else {
            self.joined.push(room.to_owned());
        }
        known.is_none()
    }

    /// Forgets `room`; false if this client was not in it.
    pub fn leave(&mut self, room: &str) -> bool {
        let before = self.joined.len();
        self.joined.retain(|r| r != room);
        self.joined.len() != before
    }

    /// Every room, for rejoining after a reconnect.
    pub fn all(&self) -> Vec<String> {
        self.joined.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_read_here_and_mistakes_never_sent() {
        assert_eq!(Command::parse("  hello "), Command::Say("hello".into()));
        assert_eq!(Command::parse(""), Command::Nothing);
        assert_eq!(
            Command::parse("/join  lobby "),
            Command::Join("lobby".into())
        );
        assert_eq!(
            Command::parse("/join"),
            Command::Refused("usage: /join ROOM".into())
        );
        assert_eq!(Command::parse("/leave"), Command::Leave(None));
        assert_eq!(Command::parse("/leave b"), Command::Leave(Some("b".into())));
        assert_eq!(Command::parse("/who"), Command::Who);
        assert_eq!(Command::parse("/help"), Command::Help);
        assert_eq!(Command::parse("/quit"), Command::Quit);
        assert_eq!(
            Command::parse("/whoo"),
            Command::Refused("unknown command /whoo; /help lists them".into())
        );
        assert_eq!(
            Command::parse("/who x"),
            Command::Refused("/who takes no argument".into())
        );
        let long = "x".repeat(MAX_LINE + 1);
        assert!(matches!(Command::parse(&long), Command::Refused(why) if why.contains("at most")));
        assert_eq!(
            Command::parse(&"y".repeat(MAX_LINE)),
            Command::Say("y".repeat(MAX_LINE))
        );
    }

    #[test]
    fn a_disconnect_shows_only_what_it_has() {
        let info = |code, reason: &str| zocket::client::CloseInfo {
            code,
            reason: reason.to_owned(),
        };
        assert_eq!(
            disconnected(&info(Some(1001), "server shutting down")),
            "* disconnected (close 1001: server shutting down)"
        );
        assert_eq!(
            disconnected(&info(Some(1000), "")),
            "* disconnected (close 1000)"
        );
        assert_eq!(
            disconnected(&info(Some(1000), "  ")),
            "* disconnected (close 1000)"
        );
        assert_eq!(disconnected(&info(None, "")), "* disconnected");
    }

    #[test]
    fn the_last_room_joined_is_current() {
        let mut rooms = Rooms::new("general");
        assert!(rooms.join("b"));
        assert_eq!(rooms.current(), Some("b"));
        // Joining a room already joined only makes it current.
        assert!(!rooms.join("general"));
        assert_eq!(rooms.current(), Some("general"));
        assert_eq!(rooms.all(), ["b", "general"]);
        assert!(rooms.leave("general"));
        assert_eq!(rooms.current(), Some("b"));
        assert!(!rooms.leave("nowhere"));
        assert!(rooms.leave("b"));
        assert_eq!(rooms.current(), None);
    }
}
