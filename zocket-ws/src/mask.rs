//! Client-to-server masking (RFC 6455, section 5.3).

/// XORs `data` with the 4-byte `mask`, eight bytes at a time.
pub fn apply(data: &mut [u8], mask: [u8; 4]) {
    apply_from(data, mask, 0);
}

/// As [`apply`], for a slice that starts `offset` bytes into the payload.
pub fn apply_from(data: &mut [u8], mask: [u8; 4], offset: usize) {
    let mut m = [0u8; 8];
    for (i, b) in m.iter_mut().enumerate() {
        *b = mask[(offset + i) & 3];
    }
    let wide = u64::from_ne_bytes(m);
    let mut chunks = data.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let mut v = [0u8; 8];
        v.copy_from_slice(chunk);
        chunk.copy_from_slice(&(u64::from_ne_bytes(v) ^ wide).to_ne_bytes());
    }
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= m[i];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_byte_wise_definition() {
        let mask = [0x12, 0x34, 0x56, 0x78];
        for len in 0..40 {
            for offset in 0..4 {
                let data: Vec<u8> = (0..len as u8).collect();
                let mut fast = data.clone();
                apply_from(&mut fast, mask, offset);
                let slow: Vec<u8> = data
                    .iter()
                    .enumerate()
                    .map(|(i, b)| b ^ mask[(offset + i) & 3])
                    .collect();
                assert_eq!(fast, slow, "len {len} offset {offset}");
            }
        }
    }
}
