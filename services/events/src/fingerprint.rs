//! The schema fingerprint of the single-object header as the Avro specification defines it: the
//! CRC-64-AVRO (Rabin) fingerprint of the schema's Parsing Canonical Form, little-endian.
//!
//! apache-avro 0.21 gets the canonical form of a primitive type with a logical type wrong: for
//! `{"type": "long", "logicalType": "timestamp-micros"}` it writes `{"type":"long"}` where the
//! specification's \[PRIMITIVES\] rule, and Avro's Java and Python implementations, write
//! `"long"`. Every schema here has a timestamp, so every fingerprint the crate computes differs
//! from the one an outside reader (Avro's `BinaryMessageDecoder`, fastavro) expects. The
//! canonical form is built here instead, from the schema's JSON; the crate's Rabin digest hashes
//! it.

use std::collections::HashSet;

use apache_avro::rabin::Rabin;
use digest::Digest as _;
use serde_json::{Map, Value};

/// The primitive type names: an object whose `type` is one of these is that primitive.
const PRIMITIVES: [&str; 8] = [
    "null", "boolean", "int", "long", "float", "double", "bytes", "string",
];

/// Why a schema's canonical form could not be built.
#[derive(Debug, thiserror::Error)]
pub enum CanonicalFormError {
    #[error("the schema is not JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("{0}")]
    Schema(String),
}

/// The 10-byte single-object header of the schema `json`: the marker `C3 01` and its
/// fingerprint.
pub fn single_object_header(json: &str) -> Result<[u8; 10], CanonicalFormError> {
    let fingerprint = fingerprint(json)?;
    let mut header = [0; 10];
    header[..2].copy_from_slice(&[0xC3, 0x01]);
    header[2..].copy_from_slice(&fingerprint.to_le_bytes());
    Ok(header)
}

/// The CRC-64-AVRO fingerprint of the schema `json`'s Parsing Canonical Form.
pub fn fingerprint(json: &str) -> Result<u64, CanonicalFormError> {
    let form = parsing_canonical_form(json)?;
    let digest = Rabin::digest(form.as_bytes());
    let mut bytes = [0; 8];
    bytes.copy_from_slice(&digest);
    Ok(u64::from_le_bytes(bytes))
}

/// The schema `json` in Parsing Canonical Form: primitives in their simple form, full names,
/// only the attributes that matter for reading (`name`, `type`, `fields`, `symbols`, `items`,
/// `values`, `size`) in that order, a named type spelled out where it is first used and named
/// after, no whitespace.
pub fn parsing_canonical_form(json: &str) -> Result<String, CanonicalFormError> {
    let schema: Value = serde_json::from_str(json)?;
    let mut form = String::with_capacity(json.len() / 2);
    Canonical::default().write(&schema, "", &mut form)?;
    Ok(form)
}

/// The named types already written out.
#[derive(Default)]
struct Canonical {
    defined: HashSet<String>,
}

impl Canonical {
    fn write(
        &mut self,
        schema: &Value,
        namespace: &str,
        out: &mut String,
    ) -> Result<(), CanonicalFormError> {
        match schema {
            Value::String(name) => {
                quoted(&full_name(name, namespace), out);
                Ok(())
            }
            Value::Array(branches) => {
                out.push('[');
                for (index, branch) in branches.iter().enumerate() {
                    if index > 0 {
                        out.push(',');
                    }
                    self.write(branch, namespace, out)?;
                }
                out.push(']');
                Ok(())
            }
            Value::Object(object) => self.write_object(object, namespace, out),
            other => Err(CanonicalFormError::Schema(format!(
                "{other} is not a schema"
            ))),
        }
    }

    fn write_object(
        &mut self,
        object: &Map<String, Value>,
        namespace: &str,
        out: &mut String,
    ) -> Result<(), CanonicalFormError> {
        let kind = match object.get("type") {
            Some(Value::String(kind)) => kind.as_str(),
            // `{"type": {...}}` or `{"type": [...]}`: the schema is the inner one.
            Some(inner) => return self.write(inner, namespace, out),
            None => {
                return Err(CanonicalFormError::Schema(
                    "a schema object without a type".into(),
                ))
            }
        };
        match kind {
            // [PRIMITIVES], whatever else the object says (a logical type, properties).
            _ if PRIMITIVES.contains(&kind) => quoted(kind, out),
            "record" | "error" | "enum" | "fixed" => {
                let name = text(object, "name")?;
                let own_namespace = match object.get("namespace") {
                    Some(Value::String(namespace)) => namespace.as_str(),
                    _ => namespace,
                };
                let full = full_name(name, own_namespace);
                if !self.defined.insert(full.clone()) {
                    // Written out already: named from now on.
                    quoted(&full, out);
                    return Ok(());
                }
                let inner_namespace = full.rsplit_once('.').map_or("", |(space, _)| space);
                out.push_str("{\"name\":");
                quoted(&full, out);
                out.push_str(",\"type\":");
                quoted(kind, out);
                match kind {
                    "enum" => {
                        out.push_str(",\"symbols\":[");
                        for (index, symbol) in array(object, "symbols")?.iter().enumerate() {
                            if index > 0 {
                                out.push(',');
                            }
                            let symbol = symbol.as_str().ok_or_else(|| {
                                CanonicalFormError::Schema(format!("{full}: a symbol is not text"))
                            })?;
                            quoted(symbol, out);
                        }
                        out.push(']');
                    }
                    "fixed" => {
                        let size = match object.get("size") {
                            Some(Value::Number(size)) => size.as_u64(),
                            Some(Value::String(size)) => size.trim().parse().ok(),
                            _ => None,
                        }
                        .ok_or_else(|| CanonicalFormError::Schema(format!("{full}: no size")))?;
                        out.push_str(&format!(",\"size\":{size}"));
                    }
                    _ => {
                        out.push_str(",\"fields\":[");
                        for (index, field) in array(object, "fields")?.iter().enumerate() {
                            if index > 0 {
                                out.push(',');
                            }
                            let field = field.as_object().ok_or_else(|| {
                                CanonicalFormError::Schema(format!(
                                    "{full}: a field is not an object"
                                ))
                            })?;
                            out.push_str("{\"name\":");
                            quoted(text(field, "name")?, out);
                            out.push_str(",\"type\":");
                            let kind = field.get("type").ok_or_else(|| {
                                CanonicalFormError::Schema(format!(
                                    "{full}: a field without a type"
                                ))
                            })?;
                            self.write(kind, inner_namespace, out)?;
                            out.push('}');
                        }
                        out.push(']');
                    }
                }
                out.push('}');
            }
            "array" | "map" => {
                let (key, label) = if kind == "array" {
                    ("items", ",\"items\":")
                } else {
                    ("values", ",\"values\":")
                };
                let inner = object.get(key).ok_or_else(|| {
                    CanonicalFormError::Schema(format!("an {kind} without {key}"))
                })?;
                out.push_str("{\"type\":");
                quoted(kind, out);
                out.push_str(label);
                self.write(inner, namespace, out)?;
                out.push('}');
            }
            // `{"type": "SomeRecord"}`: a reference to a named type.
            reference => quoted(&full_name(reference, namespace), out),
        }
        Ok(())
    }
}

/// A primitive's name as it is; a type's name with the namespace that applies ([FULLNAMES]).
fn full_name(name: &str, namespace: &str) -> String {
    if PRIMITIVES.contains(&name) || name.contains('.') || namespace.is_empty() {
        name.to_owned()
    } else {
        format!("{namespace}.{name}")
    }
}

/// A JSON string of names and symbols, which Avro limits to `[A-Za-z0-9_.]`: nothing to escape.
fn quoted(text: &str, out: &mut String) {
    out.push('"');
    out.push_str(text);
    out.push('"');
}

fn text<'a>(object: &'a Map<String, Value>, key: &str) -> Result<&'a str, CanonicalFormError> {
    object.get(key).and_then(Value::as_str).ok_or_else(|| {
        CanonicalFormError::Schema(format!("no {key} in {}", Value::from(object.clone())))
    })
}

fn array<'a>(
    object: &'a Map<String, Value>,
    key: &str,
) -> Result<&'a Vec<Value>, CanonicalFormError> {
    object
        .get(key)
        .and_then(Value::as_array)
        .ok_or_else(|| CanonicalFormError::Schema(format!("no {key} list")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primitives_with_a_logical_type_are_their_primitive() {
        let schema = r#"{"type": "record", "name": "Event", "namespace": "org.example",
            "doc": "an event",
            "fields": [
                {"name": "at", "type": {"type": "long", "logicalType": "timestamp-micros"}, "doc": "when"},
                {"name": "day", "type": {"type": "int", "logicalType": "date"}, "default": 0},
                {"name": "kind", "type": {"type": "enum", "name": "Kind", "symbols": ["A", "B"]}},
                {"name": "again", "type": ["null", "Kind"], "default": null},
                {"name": "tags", "type": {"type": "array", "items": "string"}},
                {"name": "id", "type": {"type": "fixed", "name": "other.Id", "size": "16"}}
            ]}"#;
        assert_eq!(
            parsing_canonical_form(schema).unwrap(),
            concat!(
                r#"{"name":"org.example.Event","type":"record","fields":["#,
                r#"{"name":"at","type":"long"},{"name":"day","type":"int"},"#,
                r#"{"name":"kind","type":{"name":"org.example.Kind","type":"enum","symbols":["A","B"]}},"#,
                r#"{"name":"again","type":["null","org.example.Kind"]},"#,
                r#"{"name":"tags","type":{"type":"array","items":"string"}},"#,
                r#"{"name":"id","type":{"name":"other.Id","type":"fixed","size":16}}]}"#
            )
        );
    }

    /// The fingerprints the specification's own test cases (`share/test/data/schema-tests.txt`
    /// of Apache Avro) give for primitives.
    #[test]
    fn the_fingerprints_of_the_specification() {
        assert_eq!(
            fingerprint(r#""null""#).unwrap() as i64,
            7195948357588979594
        );
        assert_eq!(
            fingerprint(r#"{"type": "long", "logicalType": "timestamp-micros"}"#).unwrap(),
            fingerprint(r#""long""#).unwrap()
        );
    }

    #[test]
    fn the_header_is_the_marker_and_the_fingerprint_little_endian() {
        let header = single_object_header(r#""null""#).unwrap();
        assert_eq!(header[..2], [0xC3, 0x01]);
        assert_eq!(
            u64::from_le_bytes(header[2..].try_into().unwrap()),
            fingerprint(r#""null""#).unwrap()
        );
    }
}
