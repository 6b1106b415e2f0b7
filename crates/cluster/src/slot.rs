//! Redis Cluster hash slots: CRC16 (XMODEM) of a key's hash tag, mod 16384,
//! as the cluster computes them, so a request goes straight to the node
//! that owns its slot.

/// Slots in a Redis Cluster.
pub const SLOTS: u16 = 16384;

/// CRC16/XMODEM (polynomial 0x1021, initial 0), Redis Cluster's key hash.
fn crc16(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &byte in bytes {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// The slot of `key`: of its hash tag (the bytes between the first `{`
/// and the next `}`, when not empty), else of the whole key.
pub fn slot_of(key: &[u8]) -> u16 {
    let tagged = key.iter().position(|&b| b == b'{').and_then(|open| {
        let rest = key.get(open + 1..)?;
        let close = rest.iter().position(|&b| b == b'}')?;
        (close > 0).then(|| rest.get(..close)).flatten()
    });
    crc16(tagged.unwrap_or(key)) % SLOTS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_match_the_cluster_specification() {
        // The reference value of the Redis Cluster specification.
        assert_eq!(crc16(b"123456789"), 0x31C3);
        // `CLUSTER KEYSLOT foo` is 12182; a tag decides the slot alone.
        assert_eq!(slot_of(b"foo"), 12182);
        assert_eq!(slot_of(b"{foo}:anything"), slot_of(b"foo"));
        // An empty tag is no tag: the whole key is hashed.
        assert_eq!(slot_of(b"{}foo"), crc16(b"{}foo") % SLOTS);
    }
}
