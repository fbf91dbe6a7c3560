//! Property tests of the parsers that face untrusted strings: session keys, checksums, zip entry names.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::bundle::checksum::ExpectedChecksum;
use crate::bundle::crypto::{PublicKey, WrappedSessionKey};
use crate::bundle::unzip::EntryPath;
use base64ct::{Base64, Encoding};
use proptest::prelude::*;

fn key_a() -> PublicKey {
    PublicKey::from_pem(&liveupdate_test_support::key_a().0).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn session_key_parser_never_panics(s in ".{0,600}") {
        let key = key_a();
        if let Ok(w) = WrappedSessionKey::parse(&s) {
            let _ = w.unwrap(&key);
        }
    }

    #[test]
    fn well_formed_session_keys_parse_and_random_blocks_do_not_unwrap(
        iv in proptest::array::uniform16(any::<u8>()),
        block in proptest::collection::vec(any::<u8>(), 256),
    ) {
        let s = format!("{}:{}", Base64::encode_string(&iv), Base64::encode_string(&block));
        let w = WrappedSessionKey::parse(&s).unwrap();
        // A random block is not a valid type-1 signature of a 16-byte key (probability ~2^-80).
        prop_assert!(w.unwrap(&key_a()).is_err());
    }

    #[test]
    fn wrong_iv_lengths_are_refused(iv in proptest::collection::vec(any::<u8>(), 0..40)) {
        prop_assume!(iv.len() != 16);
        let s = format!("{}:{}", Base64::encode_string(&iv), Base64::encode_string(&[1u8; 256]));
        prop_assert!(WrappedSessionKey::parse(&s).is_err());
    }

    #[test]
    fn checksum_parser_never_panics(s in ".{0,1100}", hex in "[0-9a-f]{0,1100}") {
        let key = key_a();
        let _ = ExpectedChecksum::parse(&s, Some(&key));
        let _ = ExpectedChecksum::parse(&s, None);
        let r = ExpectedChecksum::parse(&hex, Some(&key));
        // Random hex never forges a signature.
        prop_assert!(r.is_err());
        let plain = ExpectedChecksum::parse(&hex, None);
        prop_assert_eq!(plain.is_ok(), hex.len() == 64);
    }

    #[test]
    fn entry_names_never_escape(s in "[a-z./\\\\:\0]{0,40}") {
        match EntryPath::parse(&s) {
            Ok(p) => {
                for part in p.parts() {
                    prop_assert!(part != ".." && part != "." && !part.is_empty());
                    prop_assert!(!part.contains('/') && !part.contains('\\') && !part.contains('\0'));
                }
                prop_assert!(p.to_path().is_relative());
                prop_assert!(!s.starts_with('/'));
            }
            Err(_) => {
                prop_assert!(
                    s.contains("..") || s.contains('\\') || s.contains('\0') || s.starts_with('/') || s.contains(':')
                );
            }
        }
    }

    #[test]
    fn plain_names_round_trip(parts in proptest::collection::vec("[a-zA-Z0-9_ü文-]{1,12}", 1..6)) {
        let name = parts.join("/");
        let p = EntryPath::parse(&name).unwrap();
        prop_assert_eq!(p.parts(), &parts[..]);
    }
}
