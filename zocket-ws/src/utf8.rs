//! UTF-8 checks of text messages as their fragments arrive, so an invalid
//! message fails (1007) at the fragment that breaks it, not at its end.

/// How far a growing text message is known to be valid.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Utf8Progress {
    checked: usize,
}

/// The bytes are not UTF-8 (and no further byte can make them so).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invalid;

impl Utf8Progress {
    /// Checks what `bytes` gained since the last call. With `fin` the
    /// message is complete and must end on a character boundary; before it,
    /// a character split across fragments is fine.
    pub fn advance(&mut self, bytes: &[u8], fin: bool) -> Result<(), Invalid> {
        match std::str::from_utf8(&bytes[self.checked..]) {
            Ok(_) => {
                self.checked = bytes.len();
                Ok(())
            }
            Err(e) if e.error_len().is_none() && !fin => {
                self.checked += e.valid_up_to();
                Ok(())
            }
            Err(_) => Err(Invalid),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_characters_wait_for_their_end() {
        let text = "a€😀".as_bytes();
        let mut p = Utf8Progress::default();
        assert_eq!(p.advance(&text[..2], false), Ok(()));
        assert_eq!(p.advance(&text[..5], false), Ok(()));
        assert_eq!(p.advance(text, true), Ok(()));
        let mut p = Utf8Progress::default();
        assert_eq!(
            p.advance(&text[..2], true),
            Err(Invalid),
            "ends mid-character"
        );
        let mut p = Utf8Progress::default();
        assert_eq!(
            p.advance(&[b'a', 0xC0, 0x80], false),
            Err(Invalid),
            "overlong"
        );
    }
}
