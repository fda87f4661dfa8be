//! Domain values of Precursor Watch, parsed at the edge so that an invalid one cannot exist.

mod cas;
mod country;
pub mod party;
mod quantity;
pub mod text;
mod unit;
#[cfg(feature = "avro")]
mod wire;

pub use cas::{CasError, CasNumber};
pub use country::{CountryCode, CountryError};
pub use quantity::{Quantity, QuantityError};
pub use unit::{Dimension, Unit, UnitError};
