use super::*;

fn engine() -> Engine {
    Engine::new(ReferenceData::builtin().unwrap()).unwrap()
}

fn screen(
    engine: &Engine,
    description: &str,
    cas: Option<&str>,
    hs_code: Option<&str>,
) -> Vec<(String, MatchKind)> {
    engine
        .screen_line(LineInput {
            description,
            cas: cas.map(CasInput::Text),
            hs_code,
        })
        .identifications
        .into_iter()
        .map(|found| (engine.substances()[found.substance].id.clone(), found.kind))
        .collect()
}

fn ids(engine: &Engine, description: &str, cas: Option<&str>) -> Vec<String> {
    screen(engine, description, cas, None)
        .into_iter()
        .map(|(id, _)| id)
        .collect()
}

#[test]
fn identifies_by_cas_with_or_without_hyphens() {
    let engine = engine();
    assert_eq!(
        ids(&engine, "Product 4711", Some("108-24-7")),
        vec!["acetic_anhydride"]
    );
    assert_eq!(
        ids(&engine, "Product 4711", Some("108247")),
        vec!["acetic_anhydride"]
    );
}

#[test]
fn a_wrong_check_digit_is_never_an_identification_and_is_reported() {
    let result = engine().screen_line(LineInput {
        description: "Product 4711",
        cas: Some(CasInput::Text("108-24-8")),
        hs_code: None,
    });
    assert!(result.identifications.is_empty());
    assert!(matches!(result.cas, CasField::Invalid(reason) if reason.contains("check digit")));
}

#[test]
fn a_cas_number_written_in_the_description_counts() {
    assert_eq!(
        screen(
            &engine(),
            "Industrial chemical, CAS 7722-64-7, 25 kg",
            None,
            None
        ),
        vec![("potassium_permanganate".into(), MatchKind::Cas)]
    );
}

#[test]
fn identifies_names_and_synonyms_in_free_text() {
    let engine = engine();
    assert_eq!(
        ids(&engine, "Acetic Anhydride 99% 200L drum", None),
        vec!["acetic_anhydride"]
    );
    assert_eq!(
        screen(&engine, "Benzyl methyl ketone 99% 200L drum", None, None)[0].0,
        "p2p"
    );
    let findings = engine.screen_line(LineInput {
        description: "Heliotropine crystals",
        ..Default::default()
    });
    assert_eq!(
        engine.substances()[findings.identifications[0].substance].id,
        "piperonal"
    );
    assert_eq!(findings.identifications[0].kind, MatchKind::Synonym);
}

#[test]
fn salts_and_stereo_descriptors_are_read_as_the_substance() {
    let engine = engine();
    for line in [
        "l-Ephedrine sulfate USP",
        "(1R,2S)-(-)-Ephedrine hydrochloride",
        "Ephedrine HCl 99%",
    ] {
        assert_eq!(
            screen(&engine, line, None, None),
            vec![("ephedrine".into(), MatchKind::SaltForm)],
            "{line}"
        );
    }
    assert_eq!(
        screen(&engine, "Sodium phenylacetate 98%", None, None),
        vec![("phenylacetic_acid".into(), MatchKind::SaltForm)]
    );
}

#[test]
fn esters_are_identified_where_a_regime_covers_them() {
    let engine = engine();
    assert_eq!(
        screen(&engine, "phenylacetic acid ethyl ester", None, None),
        vec![("phenylacetic_acid".into(), MatchKind::Ester)]
    );
    assert_eq!(
        screen(&engine, "Ethyl phenylacetate, natural", None, None),
        vec![("phenylacetic_acid".into(), MatchKind::Ester)]
    );
}

#[test]
fn a_hydrochloride_of_something_else_is_not_hydrochloric_acid() {
    let engine = engine();
    assert!(ids(&engine, "Metformin HCl 500 mg", None).is_empty());
    assert_eq!(
        ids(&engine, "HCl 37% technical", None),
        vec!["hydrochloric_acid"]
    );
}

#[test]
fn look_alikes_are_not_identified() {
    let engine = engine();
    for harmless in [
        "Piperine 95% extract",
        "Phenylephrine HCl",
        "Sodium chloride",
        "Acetic acid 80%",
        "Nitromethane",
        "Phenylacetaldehyde 50% in DPG",
        "Petroleum ether 40-60",
        "Propiophenone 99%",
        "Ethyl methylphenylglycidate (strawberry aldehyde)",
        "Piperonyl butoxide",
        "Blue vitriol",
    ] {
        let found = ids(&engine, harmless, None);
        assert!(found.is_empty(), "{harmless}: {found:?}");
    }
    assert_eq!(
        ids(&engine, "Pseudoephedrine sulfate", None),
        vec!["pseudoephedrine"]
    );
}

#[test]
fn misspellings_are_read_unless_a_look_alike_is_as_close() {
    let engine = engine();
    assert_eq!(
        screen(&engine, "Potasium permanganate 25kg", None, None),
        vec![("potassium_permanganate".into(), MatchKind::Fuzzy)]
    );
    assert_eq!(
        screen(&engine, "Ephedirne HCl", None, None)[0].0,
        "ephedrine"
    );
    assert_eq!(
        screen(&engine, "Nitroetane 99%", None, None),
        vec![("nitroethane".into(), MatchKind::Fuzzy)]
    );
    // One edit from piperidine and from piperine alike: left alone.
    assert!(ids(&engine, "Piperdine", None).is_empty());
}

#[test]
fn a_name_inside_a_longer_listed_name_counts_once() {
    assert_eq!(
        ids(&engine(), "1-Boc-4-piperidone 98%", None),
        vec!["1boc4piperidone"]
    );
}

#[test]
fn cas_and_name_of_different_substances_are_both_reported() {
    assert_eq!(
        ids(&engine(), "Acetone technical", Some("108-24-7")),
        vec!["acetic_anhydride", "acetone"]
    );
}

#[test]
fn several_substances_in_one_line_are_all_reported() {
    let found = ids(
        &engine(),
        "Kit: toluene 1 l, acetone 1 l, sulphuric acid 0.5 l",
        None,
    );
    assert_eq!(found, vec!["toluene", "acetone", "sulphuric_acid"]);
}

#[test]
fn an_hs_code_identifies_only_when_no_other_entry_shares_it() {
    let engine = engine();
    assert_eq!(
        screen(&engine, "Product 4711", None, Some("2915.24")),
        vec![("acetic_anhydride".into(), MatchKind::HsCode)]
    );
    assert_eq!(
        screen(&engine, "Product 4711", None, Some("29152400")),
        vec![("acetic_anhydride".into(), MatchKind::HsCode)]
    );
    assert!(screen(&engine, "Product 4711", None, Some("293339")).is_empty());
}

#[test]
fn catalogue_word_order_is_read() {
    let engine = engine();
    assert_eq!(
        ids(&engine, "Permanganate, potassium, ACS", None),
        vec!["potassium_permanganate"]
    );
    assert_eq!(
        ids(&engine, "Acid, phenylacetic 99%", None),
        vec!["phenylacetic_acid"]
    );
    // "Acid, acetic" is acetic acid, not a listed substance.
    assert!(ids(&engine, "Acid, acetic glacial", None).is_empty());
}

#[test]
fn substituted_derivatives_and_germanic_spellings() {
    let engine = engine();
    assert!(ids(&engine, "4-Amino-1-Boc-piperidine 98%", None).is_empty());
    assert_eq!(
        ids(&engine, "Propionylchlorid 99 %", None),
        vec!["propionyl_chloride"]
    );
    assert_eq!(
        ids(&engine, "Isopropyl BMK glycidate", None),
        vec!["bmk_isopropyl_glycidate"]
    );
}

#[test]
fn locants_functional_suffixes_and_class_words_make_derivatives() {
    let engine = engine();
    for derivative in [
        "1-Methyl-4-piperidone 98%",
        "Ethyl piperidine-4-carboxylate",
        "Acetone cyanohydrin 98%",
        "MEKP hardener (methyl ethyl ketone peroxide 33%)",
        "Methyl N-methylanthranilate FCC",
        "Benzylacetone (4-phenyl-2-butanone)",
        "3-Methyl-2-butanone",
    ] {
        assert!(
            ids(&engine, derivative, None).is_empty(),
            "{derivative}: {:?}",
            ids(&engine, derivative, None)
        );
    }
    // The plain names stay what they are.
    assert_eq!(
        ids(&engine, "Diethyl ether, peroxide-free, 2.5 l", None),
        vec!["ethyl_ether"]
    );
    assert_eq!(ids(&engine, "4-Piperidone HCl", None), vec!["4piperidone"]);
    assert_eq!(
        ids(&engine, "n-Butyl phenylacetate 98%", None),
        vec!["phenylacetic_acid"]
    );
    assert_eq!(ids(&engine, "Acetone 99% 200 l", None), vec!["acetone"]);
}

#[test]
fn short_words_are_corrected_only_beside_the_rest_of_their_name() {
    let engine = engine();
    assert_eq!(
        screen(&engine, "Phenylacetic acd 99%", None, None),
        vec![("phenylacetic_acid".into(), MatchKind::Fuzzy)]
    );
    assert_eq!(
        ids(&engine, "Diethyl ehter 99%, 20 L", None),
        vec!["ethyl_ether"]
    );
    // "acd" alone is no acid of anything.
    assert!(ids(&engine, "ACD buffer 5 l", None).is_empty());
    // "piperonyl" is a look-alike only beside "butoxide": elsewhere "piperonel" is piperonal.
    assert_eq!(ids(&engine, "Piperonel 99%", None), vec!["piperonal"]);
    assert!(ids(&engine, "Piperonel butoxide 95%", None).is_empty());
}

#[test]
fn foreign_dosage_forms_and_spellings() {
    let engine = engine();
    assert_eq!(
        ids(
            &engine,
            "Comprimés ibuprofène 200 mg / pseudoéphédrine 30 mg",
            None
        ),
        vec!["pseudoephedrine", "pseudoephedrine_medicinal_products"]
    );
    assert_eq!(
        ids(&engine, "PMK-isobutylglycidaat 1 kg", None),
        vec!["pmk_isobutyl_glycidate"]
    );
    assert_eq!(
        ids(&engine, "Isopropyl-PMK-glycidat 2 kg", None),
        vec!["pmk_isopropyl_glycidate"]
    );
    assert_eq!(
        ids(&engine, "5-Allyl-1,3-benzodioxol 98%", None),
        vec!["safrole"]
    );
}

#[test]
fn a_residual_other_code_identifies_nothing() {
    let engine = engine();
    assert!(screen(&engine, "Intermediate", None, Some("2932.99.00")).is_empty());
    assert!(screen(&engine, "Amide", None, Some("29242970")).is_empty());
    assert_eq!(
        ids(&engine, "Pharmaceutical tablets, cold remedy", None).len(),
        0,
        "no code, no name: nothing"
    );
    let with_code: Vec<String> = screen(&engine, "Cold remedy tablets", None, Some("3004.42"))
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(
        with_code,
        vec!["pseudoephedrine_medicinal_products", "pseudoephedrine"]
    );
}

#[test]
fn a_look_alike_cas_or_a_valid_cas_outweighs_the_description() {
    let engine = engine();
    // The name reads as 3'-chloropropiophenone; the CAS is beta-chloropropiophenone's.
    assert!(ids(&engine, "3-Chloropropiophenone 98%", Some("936-59-4")).is_empty());
    assert_eq!(
        ids(&engine, "3-Chloropropiophenone 98%", None),
        vec!["chloropropiophenone_3"]
    );
    // "chloroethyl" is one letter from "chloromethyl"; the CAS says which it is.
    assert!(ids(&engine, "(2-Chloroethyl)benzene", Some("622-24-2")).is_empty());
}

#[test]
fn absent_and_catalogue_inverted_names() {
    let engine = engine();
    assert!(ids(&engine, "Camphor oil white, safrole-free", None).is_empty());
    assert!(ids(&engine, "Acetone-free nail polish remover", None).is_empty());
    assert_eq!(
        ids(&engine, "Pseudoephedrine free base 99%", None),
        vec!["pseudoephedrine"]
    );
    assert_eq!(
        ids(&engine, "Ketone, methyl ethyl - 200 l drum", None),
        vec!["mek"]
    );
    assert!(ids(&engine, "D-Lysergic acid amide (ergine)", None).is_empty());
}

#[test]
fn esters_named_once_for_several_alkyls_are_each_identified() {
    let engine = engine();
    let mut found = ids(
        &engine,
        "Sample set: propyl, isopropyl and sec-butyl 2-methyl-3-phenylglycidate",
        None,
    );
    found.sort();
    assert_eq!(
        found,
        vec![
            "bmk_isopropyl_glycidate",
            "bmk_propyl_glycidate",
            "bmk_sec_butyl_glycidate"
        ]
    );
    let esters = ids(
        &engine,
        "propyl and tert-butyl esters of 3-(1,3-benzodioxol-5-yl)-2-methyloxirane-2-carboxylic acid",
        None,
    );
    assert!(
        esters.contains(&"pmk_propyl_glycidate".to_owned()),
        "{esters:?}"
    );
    assert!(
        esters.contains(&"pmk_tert_butyl_glycidate".to_owned()),
        "{esters:?}"
    );
}

#[test]
fn dotted_abbreviations_of_a_two_word_name() {
    let engine = engine();
    assert_eq!(
        ids(
            &engine,
            "SKU AA-2500 | Acet. anhydr. ACS reag. 4x2.5L",
            None
        ),
        vec!["acetic_anhydride"]
    );
    assert_eq!(
        ids(&engine, "Pot. perm. 25 kg", None),
        vec!["potassium_permanganate"]
    );
    // Undotted short words are not abbreviations.
    assert!(ids(&engine, "Acet anhydr", None).is_empty());
    // "Meth." begins several names: nothing.
    assert!(ids(&engine, "Meth. ester 5 kg", None).is_empty());
}

#[test]
fn a_lone_yl_ends_a_substituent() {
    let engine = engine();
    assert!(ids(
        &engine,
        "Heliotropyl acetone (4-(1,3-benzodioxol-5-yl)butan-2-one)",
        None
    )
    .is_empty());
    assert!(ids(&engine, "alpha-Acetyl-gamma-butyrolactone 99%", None).is_empty());
    assert_eq!(ids(&engine, "gamma-Butyrolactone 99%", None), vec!["gbl"]);
}

#[test]
fn compounds_made_of_a_listed_name_are_not_the_listed_substance() {
    let engine = engine();
    for other in [
        "N-Methyl-4-piperidone 98%",
        "Benzaldehyde dimethyl acetal 99%",
        "1,4-Butanediol diglycidyl ether (BDDGE)",
        "tert-Butyl methyl ether (MTBE) HPLC",
        "Wijs solution (iodine monochloride in glacial acetic acid)",
        "New PMK oil, 20 L",
    ] {
        let found = ids(&engine, other, None);
        assert!(
            found
                .iter()
                .all(|id| id == "acetic_acid" || id == "pmk_ethyl_glycidate"),
            "{other}: {found:?}"
        );
    }
    assert_eq!(ids(&engine, "Diethyl ether 99%", None), ["ethyl_ether"]);
    assert_eq!(ids(&engine, "Iodine resublimed", None), ["iodine"]);
    assert_eq!(ids(&engine, "4-Piperidone HCl", None), ["4piperidone"]);
}

#[test]
fn an_ester_named_before_its_acid_is_that_ester() {
    let engine = engine();
    assert_eq!(
        ids(
            &engine,
            "Isobutyl ester of P-2-P methyl glycidic acid",
            None
        ),
        ["bmk_isobutyl_glycidate"]
    );
    assert_eq!(
        ester_of_first(Vocabulary::built_in().unwrap(), "no ester here".to_owned()),
        "no ester here"
    );
}

#[test]
fn two_misspelled_words_of_one_name_are_read_together() {
    let engine = engine();
    assert_eq!(
        ids(&engine, "Potasium permangante 99% 25kg", None),
        ["potassium_permanganate"]
    );
}

#[test]
fn ring_names_and_glycol_ethers_are_read_as_chemists_write_them() {
    let engine = engine();
    assert_eq!(
        ids(
            &engine,
            "Butyl 3-(benzo[d][1,3]dioxol-5-yl)-2-methyloxirane-2-carboxylate 97%",
            None
        ),
        ["pmk_butyl_glycidate"]
    );
    assert!(ids(&engine, "Diethylene glycol diethyl ether 98% 1 L", None).is_empty());
    assert_eq!(ids(&engine, "Diethyl ether 98% 1 L", None), ["ethyl_ether"]);
}
