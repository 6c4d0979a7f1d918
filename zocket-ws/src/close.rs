//! Close frames (RFC 6455, sections 5.5.1 and 7.4).

use zocket_core::close;

/// Stands for a close frame without a code; never sent on the wire.
pub const NO_STATUS: u16 = 1005;

/// Codes a peer may send in a close frame.
pub fn is_valid_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// The payload of a close frame with `code` and `reason` (empty for
/// [`NO_STATUS`]). The reason is cut to fit the 125-byte control frame
/// limit, on a character boundary.
pub fn payload(code: u16, reason: &str) -> Vec<u8> {
    if code == NO_STATUS {
        return Vec::new();
    }
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = Vec::with_capacity(2 + end);
    out.extend_from_slice(&code.to_be_bytes());
    out.extend_from_slice(&reason.as_bytes()[..end]);
    out
}

/// Reads a peer's close payload: its code and reason, or the close code
/// to fail with.
pub fn parse(payload: &[u8]) -> Result<(u16, &str), (u16, &'static str)> {
    match payload {
        [] => Ok((NO_STATUS, "")),
        [_] => Err((close::PROTOCOL_ERROR, "invalid close frame")),
        [hi, lo, reason @ ..] => {
            let code = u16::from_be_bytes([*hi, *lo]);
            if !is_valid_code(code) {
                Err((close::PROTOCOL_ERROR, "invalid close code"))
            } else {
                match std::str::from_utf8(reason) {
                    Ok(reason) => Ok((code, reason)),
                    Err(_) => Err((close::INVALID_PAYLOAD, "invalid UTF-8 in close reason")),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_reasons() {
        assert_eq!(parse(&[]), Ok((NO_STATUS, "")));
        assert_eq!(parse(&[3, 0xE8, b'o', b'k']), Ok((1000, "ok")));
        assert_eq!(parse(&[3]).unwrap_err().0, 1002);
        assert_eq!(
            parse(&[3, 0xED]).unwrap_err().0,
            1002,
            "1005 may not be sent"
        );
        assert_eq!(parse(&[0x0F, 0xA0]), Ok((4000, "")), "application codes");
        assert_eq!(parse(&[3, 0xE7]).unwrap_err().0, 1002, "999");
        assert_eq!(parse(&[3, 0xE8, 0xFF]).unwrap_err().0, 1007);
        let long = "é".repeat(100);
        let p = payload(1000, &long);
        assert!(p.len() <= 125 && std::str::from_utf8(&p[2..]).is_ok());
    }
}
