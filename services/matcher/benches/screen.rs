//! Lines screened per second by the matching engine, reference data loaded once.
//!
//! `cargo bench -p matcher --bench screen`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use matcher::{CasInput, Engine, LineInput, ReferenceData};

/// Order lines as ERP systems send them: most harmless, some controlled, a few misspelled.
const LINES: &[(&str, Option<&str>, Option<&str>)] = &[
    (
        "Sodium chloride, food grade, 25 kg bag",
        Some("7647-14-5"),
        None,
    ),
    ("Citric acid monohydrate E330", None, Some("291814")),
    ("Ethanol 96% denatured, 200 l drum", None, None),
    ("Glycerol USP 99.5% IBC 1000L", Some("56-81-5"), None),
    (
        "Isopropyl alcohol 99.9% electronic grade",
        Some("67-63-0"),
        None,
    ),
    ("Stainless steel drum 200 l, UN approved", None, None),
    ("Titanium dioxide rutile R-902", None, None),
    ("Polyethylene glycol 400 NF", None, None),
    ("Calcium carbonate precipitated, light", None, None),
    ("Sodium hydroxide pellets 99%", Some("1310-73-2"), None),
    (
        "Acetic Anhydride 99% technical, 200L drum",
        Some("108-24-7"),
        Some("2915.24"),
    ),
    ("ACETONE TECH GR 99.5% IBC 1000L", None, None),
    ("Toluene 99.5% for synthesis", Some("108-88-3"), None),
    ("Potassium permanganate ACS reagent", None, None),
    ("l-Ephedrine sulfate USP 25kg", None, None),
    ("Pseudoephedrine HCl micronised", None, None),
    ("Heliotropine crystals FCC", None, None),
    ("Benzyl methyl ketone 99% 200L drum", None, None),
    ("Phenylacetic acid ethyl ester", None, None),
    ("Methyl ethyl ketone, 185 kg drum", None, None),
    ("Hydrochloric acid 37% technical", None, None),
    ("Sulphuric acid 98% battery grade", None, None),
    ("Piperine 95% black pepper extract", None, None),
    ("Phenylephrine hydrochloride EP", None, None),
    ("Phenylacetaldehyde 50% in DPG", None, None),
    ("Nitromethane 99% racing fuel additive", None, None),
    ("Potasium permanganate 25kg", None, None),
    ("Ephedrin hydrochlorid Ph. Eur.", None, None),
    ("Product 4711", Some("7722-64-7"), None),
    (
        "Kit: toluene 1 l, acetone 1 l, sulphuric acid 0.5 l",
        None,
        None,
    ),
    ("Metformin HCl 500 mg tablets", None, None),
    ("Petroleum ether 40-60", None, None),
    ("Natriumchlorid reinst 25 kg Sack", None, None),
    (
        "Ethyl methylphenylglycidate (strawberry aldehyde)",
        None,
        None,
    ),
    ("Laboratory glassware set, borosilicate", None, None),
    ("Safety gloves nitrile size L, 100 pcs", None, None),
    ("Acide chlorhydrique 33%", None, None),
    ("Diethyl ether stabilised with BHT", Some("60-29-7"), None),
    ("Red phosphorus amorphous", None, None),
    ("Iodine resublimed 99.8%", None, None),
];

fn screen(c: &mut Criterion) {
    let engine = Engine::new(ReferenceData::builtin().expect("builtin data")).expect("engine");
    let mut group = c.benchmark_group("screen_line");
    group.throughput(Throughput::Elements(LINES.len() as u64));
    group.bench_function("realistic_lines", |b| {
        b.iter(|| {
            let mut found = 0usize;
            for (description, cas, hs_code) in LINES {
                let result = engine.screen_line(LineInput {
                    description,
                    cas: cas.map(CasInput::Text),
                    hs_code: *hs_code,
                });
                found += result.identifications.len();
            }
            found
        })
    });
    group.finish();
}

criterion_group!(benches, screen);
criterion_main!(benches);
