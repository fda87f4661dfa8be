//! How much of a chemical an order line asks for.

use std::fmt;

use crate::Unit;

/// Why a number is not a quantity.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("{0} is not a quantity greater than zero")]
pub struct QuantityError(f64);

/// An ordered amount, in the unit that goes with it: a finite number greater than zero.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Quantity(f64);

impl Quantity {
    /// The quantity `value`, refused when it is zero, negative, infinite or not a number.
    pub fn new(value: f64) -> Result<Self, QuantityError> {
        if value.is_finite() && value > 0.0 {
            Ok(Self(value))
        } else {
            Err(QuantityError(value))
        }
    }

    /// The number, in the unit that goes with it.
    pub fn value(self) -> f64 {
        self.0
    }

    /// The quantity in the base unit of `unit`'s dimension (kg, l, pieces).
    pub fn in_base(self, unit: Unit) -> f64 {
        self.0 * unit.to_base()
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_finite_number_above_zero_is_a_quantity() {
        assert_eq!(Quantity::new(2.5).unwrap().value(), 2.5);
        for refused in [0.0, -1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert!(Quantity::new(refused).is_err(), "{refused}");
        }
        assert_eq!(
            Quantity::new(-5.0).unwrap_err().to_string(),
            "-5 is not a quantity greater than zero"
        );
    }

    #[test]
    fn a_quantity_in_the_base_unit() {
        let quantity = Quantity::new(500.0).unwrap();
        assert!((quantity.in_base(Unit::Gram) - 0.5).abs() < 1e-12);
        assert_eq!(quantity.in_base(Unit::Each), 500.0);
    }
}
