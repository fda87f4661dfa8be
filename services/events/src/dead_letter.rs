use std::collections::HashMap;

use apache_avro::schema::derive::AvroSchemaComponent;
use apache_avro::schema::{Name, Namespace};
use apache_avro::{AvroSchema, Schema};
use serde::{Deserialize, Serialize};

/// A message a service could not process (`schemas/dead_letter.avsc`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, AvroSchema)]
#[avro(namespace = "org.precursorwatch.v1")]
pub struct DeadLetter {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Bytes>,
    pub payload: Bytes,
    pub error_class: String,
    pub error_message: String,
    pub service: String,
    pub failed_at: i64,
}

/// Raw bytes, encoded as Avro `bytes` (the derive would make a `Vec<u8>` an array of ints).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Bytes(#[serde(with = "apache_avro::serde_avro_bytes")] pub Vec<u8>);

impl AvroSchemaComponent for Bytes {
    fn get_schema_in_ctxt(_: &mut HashMap<Name, Schema>, _: &Namespace) -> Schema {
        Schema::Bytes
    }
}
