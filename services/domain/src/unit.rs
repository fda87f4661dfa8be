//! Units of quantity an order line may use.

use std::fmt;
use std::str::FromStr;

/// Why a text is not a known unit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown unit {0:?}: expected one of mg, g, kg, t, lb, ml, l, m3, gal, each")]
pub struct UnitError(String);

/// What a unit measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    Mass,
    Volume,
    Count,
}

/// A unit of quantity with its factor to the base unit of its dimension (kg, l, piece).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unit {
    Milligram,
    Gram,
    Kilogram,
    Tonne,
    Pound,
    Millilitre,
    Litre,
    CubicMetre,
    UsGallon,
    Each,
}

impl Unit {
    /// Every unit, in the order the error message lists them.
    pub const ALL: [Unit; 10] = [
        Unit::Milligram,
        Unit::Gram,
        Unit::Kilogram,
        Unit::Tonne,
        Unit::Pound,
        Unit::Millilitre,
        Unit::Litre,
        Unit::CubicMetre,
        Unit::UsGallon,
        Unit::Each,
    ];

    /// The canonical symbol, as used on the wire.
    pub fn symbol(self) -> &'static str {
        match self {
            Unit::Milligram => "mg",
            Unit::Gram => "g",
            Unit::Kilogram => "kg",
            Unit::Tonne => "t",
            Unit::Pound => "lb",
            Unit::Millilitre => "ml",
            Unit::Litre => "l",
            Unit::CubicMetre => "m3",
            Unit::UsGallon => "gal",
            Unit::Each => "each",
        }
    }

    /// What the unit measures.
    pub fn dimension(self) -> Dimension {
        match self {
            Unit::Milligram | Unit::Gram | Unit::Kilogram | Unit::Tonne | Unit::Pound => {
                Dimension::Mass
            }
            Unit::Millilitre | Unit::Litre | Unit::CubicMetre | Unit::UsGallon => Dimension::Volume,
            Unit::Each => Dimension::Count,
        }
    }

    /// Factor to the base unit of the dimension: kilograms, litres or pieces.
    pub fn to_base(self) -> f64 {
        match self {
            Unit::Milligram => 1e-6,
            Unit::Gram => 1e-3,
            Unit::Kilogram => 1.0,
            Unit::Tonne => 1000.0,
            Unit::Pound => 0.453_592_37,
            Unit::Millilitre => 1e-3,
            Unit::Litre => 1.0,
            Unit::CubicMetre => 1000.0,
            Unit::UsGallon => 3.785_411_784,
            Unit::Each => 1.0,
        }
    }
}

impl FromStr for Unit {
    type Err = UnitError;

    /// Accepts the symbols and common spellings, in any case: `KG`, `litre`, `liters`, `pcs`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let unit = match text.trim().to_ascii_lowercase().as_str() {
            "mg" | "milligram" | "milligrams" => Unit::Milligram,
            "g" | "gram" | "grams" => Unit::Gram,
            "kg" | "kilogram" | "kilograms" => Unit::Kilogram,
            "t" | "tonne" | "tonnes" | "mt" => Unit::Tonne,
            "lb" | "lbs" | "pound" | "pounds" => Unit::Pound,
            "ml" | "millilitre" | "millilitres" | "milliliter" | "milliliters" => Unit::Millilitre,
            "l" | "litre" | "litres" | "liter" | "liters" => Unit::Litre,
            "m3" | "cubic metre" | "cubic meter" => Unit::CubicMetre,
            "gal" | "gallon" | "gallons" => Unit::UsGallon,
            "each" | "ea" | "pc" | "pcs" | "piece" | "pieces" | "unit" | "units" => Unit::Each,
            _ => return Err(UnitError(text.to_owned())),
        };
        Ok(unit)
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.symbol())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_symbol_parses_back_to_its_unit() {
        for unit in Unit::ALL {
            assert_eq!(unit.symbol().parse::<Unit>(), Ok(unit));
        }
    }

    #[test]
    fn common_spellings_are_accepted_and_others_rejected() {
        assert_eq!("Liters".parse::<Unit>(), Ok(Unit::Litre));
        assert_eq!("KG".parse::<Unit>(), Ok(Unit::Kilogram));
        assert!("barrel".parse::<Unit>().is_err());
    }
}
