//! The indicators: stable ids, what each means and its official basis.

/// One indicator of a suspicious order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Indicator {
    /// Stable id, used in alerts and rule sets.
    pub id: &'static str,
    /// What it means, in a few words.
    pub title: &'static str,
    /// Where the indicator is published.
    pub basis: &'static str,
}

// The anchors verified in `../shared/reference/domain.md` section 1d.
const QUANTITY: &str = "21 CFR 1310.05(a)(1) and 1301.74(b) (extraordinary or unusual quantity); Regulation (EC) No 273/2004 Art. 4(2)(c) (quantities consistent with usual consumption)";
const LOTS: &str = "21 CFR 1310.05(a)(1) (extraordinary quantity against normal market lots)";
const FREQUENCY: &str = "21 CFR 1301.74(b) (unusual frequency)";
const NEW_CUSTOMER: &str = "21 CFR 1310.07 (identity of a new customer); export-control red flags (new customer with incomplete information)";
const PAYMENT: &str = "21 CFR 1310.05(a)(1) (uncommon method of payment); Regulation (EU) No 98/2013 Art. 9(3)(e), by analogy";
const DELIVERY: &str = "21 CFR 1310.05(a)(1) (uncommon method of delivery)";
const ROUTING: &str = "21 CFR 1310.05(a)(1) (unusual routing); export-control red flags (end user in a third country or free-trade zone)";
const RISK: &str = "risk list kept by the competent authorities (1988 Convention art. 12(10)(a) pre-export notification requests among its inputs)";
const END_USE: &str = "Regulation (EC) No 273/2004 Art. 4 (customer declaration of specific use); Regulation (EU) No 98/2013 Art. 9(3)(a)-(b), by analogy";
const LICENCE: &str = "Regulation (EC) No 273/2004 Art. 3 and 4 (licence or registration of Category 1 and 2 customers)";
const INDIVIDUAL: &str = "21 CFR 1310.07 (individual or cash purchaser)";
const MIXED_SCRIPTS: &str = "21 CFR 1310.07 (proper identification of the customer); Unicode Technical Standard #39, section 5 (mixed-script detection of look-alike text)";
const SPLITTING: &str =
    "21 CFR 1310.04(e)-(f) (cumulative thresholds; buying from several sites to stay below them)";
const COMBINATION: &str = "Regulation (EU) No 98/2013 Art. 9(3)(c), by analogy (combinations uncommon for the stated use)";
const WATCH_LIST: &str =
    "21 CFR 1310.05(a)(2) (a party matching a description furnished by the authority)";
const CONFIRMED: &str = "the authorities' own findings on earlier alerts (feedback); 21 CFR 1310.05(a)(2), a party matching a description furnished by the authority";

/// Every indicator the rules know, in the order alerts list them.
pub const INDICATORS: &[Indicator] = &[
    Indicator {
        id: "unusual_quantity_customer",
        title: "quantity unusual for this customer and substance",
        basis: QUANTITY,
    },
    Indicator {
        id: "unusual_quantity_substance",
        title: "quantity above the normal lots of this substance",
        basis: LOTS,
    },
    Indicator {
        id: "unusual_frequency",
        title: "orders of the substance more frequent than usual",
        basis: FREQUENCY,
    },
    Indicator {
        id: "new_customer",
        title: "first order of a listed substance by a new customer",
        basis: NEW_CUSTOMER,
    },
    Indicator {
        id: "payment_cash",
        title: "payment in cash",
        basis: PAYMENT,
    },
    Indicator {
        id: "payment_third_party",
        title: "payment by a third party",
        basis: PAYMENT,
    },
    Indicator {
        id: "payment_money_transfer",
        title: "payment by money transfer service",
        basis: PAYMENT,
    },
    Indicator {
        id: "payment_cryptocurrency",
        title: "payment in cryptocurrency",
        basis: PAYMENT,
    },
    Indicator {
        id: "delivery_po_box",
        title: "delivery to a post office box",
        basis: DELIVERY,
    },
    Indicator {
        id: "delivery_residential",
        title: "delivery to a residential address",
        basis: DELIVERY,
    },
    Indicator {
        id: "delivery_forwarder",
        title: "delivery to a freight forwarder",
        basis: DELIVERY,
    },
    Indicator {
        id: "delivery_free_zone",
        title: "delivery to a free trade zone",
        basis: ROUTING,
    },
    Indicator {
        id: "customer_collection",
        title: "collection by the customer",
        basis: DELIVERY,
    },
    Indicator {
        id: "delivery_country_differs",
        title: "delivery country differs from the customer's country",
        basis: ROUTING,
    },
    Indicator {
        id: "transit",
        title: "shipment through transit countries",
        basis: ROUTING,
    },
    Indicator {
        id: "destination_risk",
        title: "destination or transit country on the authorities' risk list",
        basis: RISK,
    },
    Indicator {
        id: "end_use_missing",
        title: "end-use statement missing",
        basis: END_USE,
    },
    Indicator {
        id: "end_use_implausible",
        title: "end-use statement implausible",
        basis: END_USE,
    },
    Indicator {
        id: "licence_missing",
        title: "no licence or registration where the regime requires one",
        basis: LICENCE,
    },
    Indicator {
        id: "individual_buyer",
        title: "an individual buying a scheduled chemical",
        basis: INDIVIDUAL,
    },
    Indicator {
        id: "name_mixed_scripts",
        title: "customer name mixing writing systems within a word (look-alike letters)",
        basis: MIXED_SCRIPTS,
    },
    Indicator {
        id: "order_splitting",
        title: "orders split below a threshold within a window, across suppliers",
        basis: SPLITTING,
    },
    Indicator {
        id: "route_combination",
        title: "precursors of one synthesis route on one order or within a window",
        basis: COMBINATION,
    },
    Indicator {
        id: "watch_listed_party",
        title: "customer on an authority's watch list of parties",
        basis: WATCH_LIST,
    },
    Indicator {
        id: "party_confirmed_suspicious",
        title: "buyer of an earlier alert an authority confirmed suspicious",
        basis: CONFIRMED,
    },
];

/// The indicator with this id.
pub fn indicator(id: &str) -> Option<&'static Indicator> {
    INDICATORS.iter().find(|indicator| indicator.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_snake_case() {
        for (index, indicator) in INDICATORS.iter().enumerate() {
            assert!(indicator
                .id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '_'));
            assert!(
                INDICATORS[..index]
                    .iter()
                    .all(|other| other.id != indicator.id),
                "{} twice",
                indicator.id
            );
        }
        assert!(indicator("order_splitting").is_some());
    }
}
