//! Peer-controlled text as it may appear in a log line.

use std::fmt;

/// Longest peer-controlled text written to a log line, in characters.
const MAX_CHARS: usize = 128;

/// A peer-controlled string for a log field: escaped like `Debug` (so a
/// `\n` cannot forge a line and an `ESC` cannot reach a terminal) and cut
/// to [`MAX_CHARS`] (so a client cannot write megabytes of log).
pub(crate) struct Shown<'a>(pub &'a str);

impl fmt::Debug for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.char_indices().nth(MAX_CHARS) {
            None => fmt::Debug::fmt(self.0, f),
            Some((cut, _)) => {
                fmt::Debug::fmt(&self.0[..cut], f)?;
                write!(f, "… ({} bytes)", self.0.len())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_truncates() {
        assert_eq!(
            format!("{:?}", Shown("a\nFORGED \u{1b}[2J")),
            r#""a\nFORGED \u{1b}[2J""#
        );
        let long = "x".repeat(10_000);
        let shown = format!("{:?}", Shown(&long));
        assert!(shown.len() < 200, "{shown}");
        assert!(shown.ends_with("(10000 bytes)"));
    }
}
