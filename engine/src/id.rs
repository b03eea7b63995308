//! `Id`: the 32-byte name of every content-addressed thing (blobs, packs, index files,
//! snapshots, keys), with its hex form.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Id(pub [u8; 32]);

/// The bytes' order, as a derived `Ord` gives, but the first 8 bytes compared as one number:
/// ids are uniform, so that settles nearly every comparison without a call to `memcmp` (index
/// lookups and prune's binary searches spent a fifth of their time there).
impl Ord for Id {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        let head = |i: &Id| u64::from_be_bytes(i.0[..8].try_into().expect("8 bytes"));
        head(self)
            .cmp(&head(o))
            .then_with(|| self.0[8..].cmp(&o.0[8..]))
    }
}

impl PartialOrd for Id {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

impl Id {
    pub const LEN: usize = 32;

    pub fn random() -> Self {
        let mut b = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut b);
        Id(b)
    }

    /// Unkeyed BLAKE3 of bytes: the name of a repository file (pack, index, snapshot, key).
    pub fn of_file(bytes: &[u8]) -> Self {
        Id(*blake3::hash(bytes).as_bytes())
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    pub fn short(&self) -> String {
        hex::encode(&self.0[..4])
    }

    pub fn from_slice(b: &[u8]) -> Option<Self> {
        Some(Id(b.try_into().ok()?))
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Id({})", self.short())
    }
}

impl FromStr for Id {
    type Err = hex::FromHexError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut b = [0u8; 32];
        hex::decode_to_slice(s, &mut b)?;
        Ok(Id(b))
    }
}

// Human-readable encodings (JSON: snapshots, config) use hex; binary ones (postcard: trees)
// use the 32 raw bytes.
impl Serialize for Id {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&self.to_hex())
        } else {
            s.serialize_bytes(&self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let s = String::deserialize(d)?;
            s.parse().map_err(serde::de::Error::custom)
        } else {
            struct V;
            impl<'de> serde::de::Visitor<'de> for V {
                type Value = Id;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("32 bytes")
                }
                fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Id, E> {
                    Id::from_slice(v).ok_or_else(|| E::invalid_length(v.len(), &self))
                }
                fn visit_borrowed_bytes<E: serde::de::Error>(self, v: &'de [u8]) -> Result<Id, E> {
                    self.visit_bytes(v)
                }
            }
            d.deserialize_bytes(V)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_order_as_their_bytes() {
        let mut ids: Vec<Id> = (0..2000u32)
            .map(|i| {
                let mut b = Id::of_file(&i.to_le_bytes()).0;
                // Every fourth shares its first 8 bytes with others, so the tail decides.
                if i % 4 == 0 {
                    b[..8].copy_from_slice(&[7; 8]);
                }
                if i % 8 == 0 {
                    b[..16].copy_from_slice(&[7; 16]);
                }
                Id(b)
            })
            .collect();
        ids.push(Id([0; 32]));
        ids.push(Id([255; 32]));
        let mut by_bytes = ids.clone();
        by_bytes.sort_by_key(|a| a.0);
        ids.sort();
        assert_eq!(ids, by_bytes);
        for w in ids.windows(2) {
            assert_eq!(w[0].cmp(&w[1]), w[0].0.cmp(&w[1].0));
            assert_eq!(w[1].cmp(&w[0]), w[1].0.cmp(&w[0].0));
        }
    }

    #[test]
    fn hex_roundtrip_and_json() {
        let id = Id::of_file(b"abc");
        assert_eq!(id.to_hex().parse::<Id>().unwrap(), id);
        let j = serde_json::to_string(&id).unwrap();
        assert_eq!(j, format!("\"{}\"", id.to_hex()));
        let p = postcard::to_stdvec(&id).unwrap();
        assert_eq!(p.len(), 33);
        assert_eq!(postcard::from_bytes::<Id>(&p).unwrap(), id);
        assert!(postcard::from_bytes::<Id>(&p[..20]).is_err());
    }
}
