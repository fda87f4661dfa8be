//! Which national authorities an order concerns, and in which role.

use domain::CountryCode;
use events::{AuthorityConcerned, JurisdictionRole, OrderContext};

/// The authorities concerned by an order: the supplier site's country (export, or domestic when
/// the goods stay there), the delivery country (import), each transit country, and the
/// customer's country when the goods are delivered elsewhere. One entry per country, roles in
/// that order.
pub fn authorities_concerned(order: &OrderContext) -> Vec<AuthorityConcerned> {
    let mut authorities: Vec<AuthorityConcerned> = Vec::new();
    let mut add = |country: CountryCode, role: JurisdictionRole| match authorities
        .iter_mut()
        .find(|authority| authority.country == country)
    {
        Some(authority) if !authority.roles.contains(&role) => authority.roles.push(role),
        Some(_) => {}
        None => authorities.push(AuthorityConcerned {
            country,
            roles: vec![role],
        }),
    };
    if order.supplier_country == order.delivery_country {
        add(order.supplier_country, JurisdictionRole::Domestic);
    } else {
        add(order.supplier_country, JurisdictionRole::Export);
        add(order.delivery_country, JurisdictionRole::Import);
    }
    for country in &order.transit_countries {
        if *country != order.supplier_country && *country != order.delivery_country {
            add(*country, JurisdictionRole::Transit);
        }
    }
    if order.customer_country != order.delivery_country {
        add(order.customer_country, JurisdictionRole::CustomerDomicile);
    }
    authorities
}

#[cfg(test)]
mod tests {
    use super::*;
    use JurisdictionRole::*;

    fn order(supplier: &str, customer: &str, delivery: &str, transit: &[&str]) -> OrderContext {
        OrderContext {
            supplier_country: supplier.parse().unwrap(),
            customer_id: "c".into(),
            customer_name: "C".into(),
            customer_country: customer.parse().unwrap(),
            delivery_country: delivery.parse().unwrap(),
            transit_countries: transit.iter().map(|c| c.parse().unwrap()).collect(),
        }
    }

    fn summary(order: &OrderContext) -> Vec<(String, Vec<JurisdictionRole>)> {
        authorities_concerned(order)
            .into_iter()
            .map(|a| (a.country.to_string(), a.roles))
            .collect()
    }

    #[test]
    fn a_cross_border_order_concerns_every_country_on_its_way_once() {
        let order = order("DE", "NL", "GB", &["BE"]);
        assert_eq!(
            summary(&order),
            vec![
                ("DE".into(), vec![Export]),
                ("GB".into(), vec![Import]),
                ("BE".into(), vec![Transit]),
                ("NL".into(), vec![CustomerDomicile]),
            ]
        );
    }

    #[test]
    fn a_domestic_order_concerns_one_authority() {
        assert_eq!(
            summary(&order("FR", "FR", "FR", &[])),
            vec![("FR".into(), vec![Domestic])]
        );
    }

    #[test]
    fn a_transit_through_an_end_country_adds_no_role() {
        assert_eq!(
            summary(&order("DE", "DE", "PL", &["DE", "PL"])),
            vec![
                ("DE".into(), vec![Export, CustomerDomicile]),
                ("PL".into(), vec![Import])
            ]
        );
    }
}
