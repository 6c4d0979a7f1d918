//! Ready-made validation hooks for `#[zocket(validate = ..)]`.
//!
//! Each takes the field by reference and returns `Err(message)`; the
//! error frame names the field. `max_len::<N>` and `min_len::<N>` count bytes.

/// The string must not be empty.
pub fn not_empty(s: &str) -> Result<(), String> {
    if s.is_empty() {
        Err("must not be empty".into())
    } else {
        Ok(())
    }
}

/// At most `N` bytes.
pub fn max_len<const N: usize>(s: &str) -> Result<(), String> {
    if s.len() > N {
        Err(format!("must be at most {N} bytes (is {})", s.len()))
    } else {
        Ok(())
    }
}

/// At least `N` bytes.
pub fn min_len<const N: usize>(s: &str) -> Result<(), String> {
    if s.len() < N {
        Err(format!("must be at least {N} bytes (is {})", s.len()))
    } else {
        Ok(())
    }
}
