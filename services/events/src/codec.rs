//! Single-object encoding of the events, with the parsed schemas cached once per process.

use std::sync::OnceLock;

use apache_avro::headers::{HeaderBuilder, RabinFingerprintHeader};
use apache_avro::{GenericSingleObjectReader, Schema};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::{Alert, DeadLetter, Feedback, OrderReport, ScreeningResult};

/// Largest allocation a decoded length prefix may ask for; hostile bytes cannot claim more.
const MAX_ALLOCATION_BYTES: usize = 16 * 1024 * 1024;

/// Length of the single-object header: two marker bytes and an 8-byte fingerprint.
const HEADER_LEN: usize = 10;

/// A type that travels on a topic, tied to its `.avsc` schema.
pub trait Event: Serialize + DeserializeOwned {
    /// The schema file's text.
    const SCHEMA_JSON: &'static str;
    /// The parsed schema and its single-object header, parsed on first use.
    fn wire() -> &'static WireSchema;
}

/// A parsed schema and the header that announces it, with the earlier versions of the schema
/// that messages still on the topics may have been written with.
///
/// Until 2026-12 the header carried apache-avro 0.21's fingerprint, which differs from the
/// specification's for every schema with a logical type (see [`crate::fingerprint`]); messages
/// with that header, of this schema or an earlier one, are still read.
pub struct WireSchema {
    schema: Schema,
    header: Vec<u8>,
    /// The headers still read, each with the schema it announces: the earlier versions' (with
    /// both fingerprints) and this version's with apache-avro's fingerprint.
    history: Vec<(Vec<u8>, Schema)>,
    /// Reads the current version with the schema resolved once, not once per message.
    reader: GenericSingleObjectReader,
}

impl std::fmt::Debug for WireSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WireSchema")
            .field("schema", &self.schema)
            .field("header", &self.header)
            .field("history", &self.history.len())
            .finish()
    }
}

impl WireSchema {
    fn parse(json: &str, history: &[&str]) -> Self {
        apache_avro::util::max_allocation_bytes(MAX_ALLOCATION_BYTES);
        // The schema files are part of the build; a broken one is a programming error that every
        // test run catches.
        #[allow(clippy::expect_used)]
        let parse =
            |json: &str| Schema::parse_str(json).expect("schemas/*.avsc are valid Avro schemas");
        #[allow(clippy::expect_used)]
        let header = |json: &str| -> Vec<u8> {
            crate::fingerprint::single_object_header(json)
                .expect("schemas/*.avsc are valid Avro schemas")
                .to_vec()
        };
        let legacy = |schema: &Schema| RabinFingerprintHeader::from_schema(schema).build_header();
        let schema = parse(json);
        #[allow(clippy::expect_used)]
        let reader =
            GenericSingleObjectReader::new_with_header_builder(schema.clone(), Fixed(header(json)))
                .expect("schemas/*.avsc resolve: their named types are all defined");
        let mut earlier = vec![(legacy(&schema), schema.clone())];
        for json in history {
            let old = parse(json);
            earlier.push((header(json), old.clone()));
            earlier.push((legacy(&old), old));
        }
        let (header, history) = (header(json), earlier);
        Self {
            schema,
            header,
            history,
            reader,
        }
    }

    /// The single-object header of this version: the marker and the schema's fingerprint.
    pub fn header(&self) -> &[u8] {
        &self.header
    }

    /// The schemas of the headers still read besides the current one: each earlier version, and
    /// this version under apache-avro's old fingerprint.
    pub fn history(&self) -> impl Iterator<Item = &Schema> {
        self.history.iter().map(|(_, schema)| schema)
    }

    /// The parsed schema.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }
}

/// A header known in advance, for the crate's reader to check.
struct Fixed(Vec<u8>);

impl HeaderBuilder for Fixed {
    fn build_header(&self) -> Vec<u8> {
        self.0.clone()
    }
}

macro_rules! event {
    ($type:ty, $file:literal $(, $old:literal)*) => {
        impl Event for $type {
            const SCHEMA_JSON: &'static str = include_str!(concat!("../../../schemas/", $file));

            fn wire() -> &'static WireSchema {
                static WIRE: OnceLock<WireSchema> = OnceLock::new();
                let history: &[&str] = &[$(include_str!(concat!("../../../schemas/history/", $old))),*];
                WIRE.get_or_init(|| WireSchema::parse(Self::SCHEMA_JSON, history))
            }
        }
    };
}

event!(OrderReport, "order_report.avsc");
event!(
    ScreeningResult,
    "screening_result.avsc",
    "screening_result.v1.avsc"
);
event!(Alert, "alert.avsc", "alert.v1.avsc", "alert.v2.avsc");
event!(DeadLetter, "dead_letter.avsc");
event!(Feedback, "feedback.avsc");

/// Why an event could not be encoded; a value that does not fit its schema is a bug.
#[derive(Debug, thiserror::Error)]
#[error("cannot encode event: {0}")]
pub struct EncodeError(#[from] apache_avro::Error);

/// Why bytes could not be decoded into an event.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The bytes do not start with the single-object marker and the expected schema fingerprint.
    #[error("not a single-object encoded {expected}: unknown header {found}")]
    Header {
        expected: &'static str,
        found: String,
    },
    /// The datum does not decode with the schema.
    #[error("malformed avro datum: {0}")]
    Datum(#[from] apache_avro::Error),
    /// Bytes were left after the datum.
    #[error("{0} trailing bytes after the avro datum")]
    Trailing(usize),
}

/// Encodes an event as one single-object encoded Avro datum.
///
/// The event is serialized straight into its schema (no intermediate value tree), which also
/// checks it fits the schema.
pub fn encode<E: Event>(event: &E) -> Result<Vec<u8>, EncodeError> {
    let wire = E::wire();
    let mut bytes = Vec::with_capacity(256);
    bytes.extend_from_slice(&wire.header);
    apache_avro::write_avro_datum_ref(&wire.schema, event, &mut bytes)?;
    Ok(bytes)
}

/// Decodes bytes written by [`encode`]; hostile input gives an error, never a panic.
pub fn decode<E: Event>(bytes: &[u8]) -> Result<E, DecodeError> {
    let wire = E::wire();
    // The current schema, or an earlier one resolved into the current.
    let (body, writer) = match bytes.strip_prefix(wire.header.as_slice()) {
        Some(body) => (body, None),
        None => {
            let old = wire.history.iter().find_map(|(header, schema)| {
                bytes
                    .strip_prefix(header.as_slice())
                    .map(|body| (body, Some(schema)))
            });
            old.ok_or_else(|| {
                let shown = &bytes[..bytes.len().min(HEADER_LEN)];
                DecodeError::Header {
                    expected: std::any::type_name::<E>()
                        .rsplit("::")
                        .next()
                        .unwrap_or("event"),
                    found: shown.iter().map(|b| format!("{b:02x}")).collect(),
                }
            })?
        }
    };
    let mut reader = body;
    let value = match writer {
        // The current version: the whole message, header checked again by the reader.
        None => {
            reader = bytes;
            wire.reader.read_value(&mut reader)?
        }
        Some(writer) => apache_avro::from_avro_datum(writer, &mut reader, Some(&wire.schema))?,
    };
    if !reader.is_empty() {
        return Err(DecodeError::Trailing(reader.len()));
    }
    Ok(apache_avro::from_value(&value)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema_pins::samples;

    #[test]
    fn every_event_round_trips() {
        let report = samples::order_report();
        assert_eq!(
            decode::<OrderReport>(&encode(&report).unwrap()).unwrap(),
            report
        );
        let alert = samples::alert();
        assert_eq!(decode::<Alert>(&encode(&alert).unwrap()).unwrap(), alert);
        let result = samples::screening_result();
        assert_eq!(
            decode::<ScreeningResult>(&encode(&result).unwrap()).unwrap(),
            result
        );
        let dead = samples::dead_letter();
        assert_eq!(decode::<DeadLetter>(&encode(&dead).unwrap()).unwrap(), dead);
    }

    #[test]
    fn every_schema_reads_what_its_earlier_versions_wrote() {
        fn check<E: Event>() {
            let wire = E::wire();
            for old in wire.history() {
                let compatible = apache_avro::schema_compatibility::SchemaCompatibility::can_read(
                    old,
                    wire.schema(),
                );
                assert!(
                    compatible.is_ok(),
                    "{}: {compatible:?}",
                    std::any::type_name::<E>()
                );
            }
        }
        check::<Alert>();
        check::<ScreeningResult>();
    }

    #[test]
    fn an_alert_written_with_the_first_schema_is_read_with_defaults() {
        let old_json = include_str!("../../../schemas/history/alert.v1.avsc");
        let old = Schema::parse_str(old_json).unwrap();
        // The first version had no match score and no scope.
        let mut value = serde_json::to_value(samples::alert()).unwrap();
        for field in ["rule_set_version", "party_id", "party_rule"] {
            value.as_object_mut().unwrap().remove(field);
        }
        for finding in value["findings"].as_array_mut().unwrap() {
            finding.as_object_mut().unwrap().remove("match_score");
            for classification in finding["classifications"].as_array_mut().unwrap() {
                let classification = classification.as_object_mut().unwrap();
                classification.remove("in_scope");
                classification.remove("scope_note");
            }
        }
        let avro = apache_avro::to_value(&value)
            .unwrap()
            .resolve(&old)
            .unwrap();
        let mut bytes = RabinFingerprintHeader::from_schema(&old).build_header();
        bytes.extend(apache_avro::to_avro_datum(&old, avro).unwrap());
        let alert: Alert = decode(&bytes).unwrap();
        assert_eq!(alert.findings[0].match_score, 1.0);
        assert!(alert.findings[0].classifications[0].in_scope);
        assert_eq!(alert.findings[0].substance_id, "acetic_anhydride");
    }

    #[test]
    fn messages_carry_the_specifications_fingerprint_and_those_with_the_old_one_are_still_read() {
        let report = samples::order_report();
        let bytes = encode(&report).unwrap();
        let standard = crate::fingerprint::single_object_header(OrderReport::SCHEMA_JSON).unwrap();
        assert_eq!(bytes[..HEADER_LEN], standard);
        // Written before 2026-12: apache-avro's fingerprint of the same schema.
        let legacy =
            RabinFingerprintHeader::from_schema(OrderReport::wire().schema()).build_header();
        assert_ne!(legacy, standard);
        let mut old = legacy;
        old.extend_from_slice(&bytes[HEADER_LEN..]);
        assert_eq!(decode::<OrderReport>(&old).unwrap(), report);
        // An earlier schema version, announced with the specification's fingerprint.
        let json = include_str!("../../../schemas/history/alert.v2.avsc");
        let older = crate::fingerprint::single_object_header(json).unwrap();
        assert!(Alert::wire()
            .history
            .iter()
            .any(|(header, _)| header[..] == older[..]));
    }

    #[test]
    fn an_alert_written_with_the_second_schema_is_read_with_defaults() {
        let old =
            Schema::parse_str(include_str!("../../../schemas/history/alert.v2.avsc")).unwrap();
        // The second version had no rule set and no party.
        let mut value = serde_json::to_value(samples::alert()).unwrap();
        for field in ["rule_set_version", "party_id", "party_rule"] {
            value.as_object_mut().unwrap().remove(field);
        }
        let avro = apache_avro::to_value(&value)
            .unwrap()
            .resolve(&old)
            .unwrap();
        let mut bytes = RabinFingerprintHeader::from_schema(&old).build_header();
        bytes.extend(apache_avro::to_avro_datum(&old, avro).unwrap());
        let alert: Alert = decode(&bytes).unwrap();
        assert_eq!(alert.rule_set_version, "");
        assert_eq!(alert.party_id, "");
        assert_eq!(alert.findings[0].substance_id, "acetic_anhydride");
    }

    #[test]
    fn a_country_cas_number_unit_or_quantity_that_is_none_does_not_decode() {
        let bytes = encode(&samples::order_report()).unwrap();
        // Each of these strings is one field's value in the datum (length 2 is zigzag 4); the
        // sample's quantity, 200, is a little-endian double.
        let quantity = 200.0_f64.to_le_bytes();
        let (negative, zero, nan) = (
            (-200.0_f64).to_le_bytes(),
            0.0_f64.to_le_bytes(),
            f64::NAN.to_le_bytes(),
        );
        for (valid, invalid) in [
            (&b"\x04DE"[..], &b"\x04XX"[..]),
            (&b"\x10108-24-7"[..], &b"\x10108-24-8"[..]),
            (&b"\x02l"[..], &b"\x02q"[..]),
            (&quantity[..], &negative[..]),
            (&quantity[..], &zero[..]),
            (&quantity[..], &nan[..]),
        ] {
            let at = bytes
                .windows(valid.len())
                .position(|window| window == valid)
                .expect("the sample carries the value");
            let mut altered = bytes.clone();
            altered[at..at + valid.len()].copy_from_slice(invalid);
            assert!(
                decode::<OrderReport>(&altered).is_err(),
                "{:?} decoded",
                String::from_utf8_lossy(invalid)
            );
        }
    }

    #[test]
    fn a_message_of_another_type_is_rejected_by_its_header() {
        let bytes = encode(&samples::alert()).unwrap();
        assert!(matches!(
            decode::<OrderReport>(&bytes),
            Err(DecodeError::Header { .. })
        ));
    }

    #[test]
    fn truncated_and_padded_messages_are_rejected() {
        let bytes = encode(&samples::order_report()).unwrap();
        for cut in HEADER_LEN..bytes.len() {
            assert!(
                decode::<OrderReport>(&bytes[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        let mut padded = bytes.clone();
        padded.push(0);
        assert!(matches!(
            decode::<OrderReport>(&padded),
            Err(DecodeError::Trailing(1))
        ));
    }

    /// One mutation of a valid message: set a byte, insert, remove, or cut the tail.
    #[derive(Debug, Clone)]
    enum Mutation {
        Set(usize, u8),
        Insert(usize, u8),
        Remove(usize),
        Truncate(usize),
    }

    fn mutation() -> impl proptest::strategy::Strategy<Value = Mutation> {
        use proptest::prelude::*;
        prop_oneof![
            (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Set(at, byte)),
            (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Insert(at, byte)),
            any::<usize>().prop_map(Mutation::Remove),
            any::<usize>().prop_map(Mutation::Truncate),
        ]
    }

    /// Applies mutations to the datum (the header kept, so the decoder goes past it).
    fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
        for mutation in mutations {
            let body = bytes.len().saturating_sub(HEADER_LEN).max(1);
            match *mutation {
                Mutation::Set(at, byte) => {
                    if bytes.len() > HEADER_LEN {
                        bytes[HEADER_LEN + at % body] = byte;
                    }
                }
                Mutation::Insert(at, byte) => bytes.insert(HEADER_LEN + at % body, byte),
                Mutation::Remove(at) => {
                    if bytes.len() > HEADER_LEN {
                        bytes.remove(HEADER_LEN + at % body);
                    }
                }
                Mutation::Truncate(at) => bytes.truncate(HEADER_LEN + at % body),
            }
        }
        bytes
    }

    /// Decodes a mutated message: an error or an event that encodes again, never a panic.
    fn survives<E: Event + PartialEq + std::fmt::Debug>(original: &E, mutations: &[Mutation]) {
        let bytes = mutate(encode(original).unwrap(), mutations);
        if let Ok(event) = decode::<E>(&bytes) {
            let again = encode(&event).expect("a decoded event encodes");
            assert_eq!(decode::<E>(&again).unwrap(), event);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(
            std::env::var("PW_FUZZ_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(2_000)
        ))]

        #[test]
        fn hostile_bytes_never_panic(tail in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
            let mut bytes = OrderReport::wire().header.clone();
            bytes.extend_from_slice(&tail);
            let _ = decode::<OrderReport>(&bytes);
            let _ = decode::<Alert>(&tail);
        }

        #[test]
        fn mutated_messages_of_every_type_never_panic(
            mutations in proptest::collection::vec(mutation(), 1..8)
        ) {
            survives(&samples::order_report(), &mutations);
            survives(&samples::alert(), &mutations);
            survives(&samples::screening_result(), &mutations);
            survives(&samples::dead_letter(), &mutations);
            survives(&samples::feedback(), &mutations);
        }
    }
}
