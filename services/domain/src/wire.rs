//! The values as fields of the events: each travels as its text (an Avro `string`, the same
//! bytes as before the fields were typed), a quantity as its number (a `double`), and is parsed
//! again when read, so an event whose country, CAS number, unit or quantity is not one does not
//! decode.

use std::collections::HashMap;
use std::str::FromStr as _;

use apache_avro::schema::derive::AvroSchemaComponent;
use apache_avro::schema::{Name, Namespace, Schema};
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

use crate::{CasNumber, CountryCode, Quantity, Unit};

macro_rules! as_text {
    ($type:ty, $text:expr, $parse:expr) => {
        impl Serialize for $type {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str($text(self))
            }
        }

        impl<'de> Deserialize<'de> for $type {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                $parse(&text).map_err(de::Error::custom)
            }
        }

        impl AvroSchemaComponent for $type {
            fn get_schema_in_ctxt(_: &mut HashMap<Name, Schema>, _: &Namespace) -> Schema {
                Schema::String
            }
        }
    };
}

as_text!(CountryCode, CountryCode::as_str, CountryCode::parse);
as_text!(CasNumber, CasNumber::as_str, CasNumber::parse);
as_text!(Unit, |unit: &Unit| unit.symbol(), Unit::from_str);

impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.value())
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Quantity::new(f64::deserialize(deserializer)?).map_err(de::Error::custom)
    }
}

impl AvroSchemaComponent for Quantity {
    fn get_schema_in_ctxt(_: &mut HashMap<Name, Schema>, _: &Namespace) -> Schema {
        Schema::Double
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_travel_as_their_text_and_are_checked_when_read() {
        let country = CountryCode::parse("nl").unwrap();
        assert_eq!(serde_json::to_string(&country).unwrap(), "\"NL\"");
        assert_eq!(
            serde_json::from_str::<CountryCode>("\"NL\"").unwrap(),
            country
        );
        assert!(serde_json::from_str::<CountryCode>("\"XX\"").is_err());
        let cas = CasNumber::parse("108-24-7").unwrap();
        assert_eq!(serde_json::to_string(&cas).unwrap(), "\"108-24-7\"");
        assert!(serde_json::from_str::<CasNumber>("\"108-24-8\"").is_err());
        assert_eq!(serde_json::to_string(&Unit::Kilogram).unwrap(), "\"kg\"");
        assert_eq!(
            serde_json::from_str::<Unit>("\"kg\"").unwrap(),
            Unit::Kilogram
        );
        assert!(matches!(
            CountryCode::get_schema_in_ctxt(&mut HashMap::new(), &None),
            Schema::String
        ));
        assert_eq!(
            serde_json::to_string(&Quantity::new(2.5).unwrap()).unwrap(),
            "2.5"
        );
        assert!(serde_json::from_str::<Quantity>("0").is_err());
        assert!(matches!(
            Quantity::get_schema_in_ctxt(&mut HashMap::new(), &None),
            Schema::Double
        ));
    }
}
