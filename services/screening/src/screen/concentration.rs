//! Percentages written in a description, and the one that belongs to a substance's name.

use crate::engine::normalize;

/// A word of the description, folded, or a percentage.
#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    Word(String),
    Percent(f64),
}

/// The description as words and percentages: "HI 57% with 1,5 % H3PO2" is `hi`, 57 %, `with`,
/// 1.5 %, `h3po2`.
pub fn tokens(description: &str) -> Vec<Token> {
    let chars: Vec<char> = description.chars().collect();
    let mut tokens = Vec::new();
    let mut index = 0;
    while index < chars.len() {
        let c = chars[index];
        if c.is_ascii_digit() {
            let start = index;
            while index < chars.len()
                && (chars[index].is_ascii_digit()
                    || (matches!(chars[index], '.' | ',')
                        && chars.get(index + 1).is_some_and(char::is_ascii_digit)))
            {
                index += 1;
            }
            let number: String = chars[start..index]
                .iter()
                .map(|c| if *c == ',' { '.' } else { *c })
                .collect();
            let mut after = index;
            while after < chars.len() && chars[after] == ' ' {
                after += 1;
            }
            let percent = chars.get(after) == Some(&'%');
            // A number glued to letters ("H3PO2", "2x") is part of a word.
            let glued = chars.get(index).is_some_and(|c| c.is_alphabetic())
                || (start > 0 && chars[start - 1].is_alphabetic());
            match number.parse::<f64>() {
                Ok(value) if percent && !glued => {
                    tokens.push(Token::Percent(value));
                    index = after + 1;
                }
                _ if glued => {
                    // Read the rest of the word it belongs to.
                    let mut end = index;
                    while end < chars.len() && chars[end].is_alphanumeric() {
                        end += 1;
                    }
                    let mut begin = start;
                    while begin > 0 && chars[begin - 1].is_alphanumeric() {
                        begin -= 1;
                    }
                    if let Some(Token::Word(_)) = tokens.last() {
                        if begin < start {
                            tokens.pop();
                        }
                    }
                    let word: String = chars[begin..end].iter().collect();
                    tokens.push(Token::Word(normalize(&word)));
                    index = end;
                }
                _ => tokens.push(Token::Word(number)),
            }
        } else if c.is_alphanumeric() {
            let start = index;
            while index < chars.len() && chars[index].is_alphanumeric() {
                index += 1;
            }
            let word: String = chars[start..index].iter().collect();
            tokens.extend(
                normalize(&word)
                    .split(' ')
                    .map(|w| Token::Word(w.to_owned())),
            );
        } else {
            index += 1;
        }
    }
    tokens
}

/// The percentage written right after the matched name (within three words) or, failing
/// that, right before it (within two), when it is a plausible concentration.
pub fn beside(tokens: &[Token], matched_text: &str) -> Option<f64> {
    let words: Vec<&str> = matched_text.split(' ').collect();
    let first = *words.first()?;
    let start = tokens
        .iter()
        .position(|token| matches!(token, Token::Word(word) if word == first))?;
    let end = (start + words.len()).min(tokens.len());
    let after = tokens[end..].iter().take(3).find_map(|token| match token {
        Token::Percent(value) => Some(*value),
        Token::Word(_) => None,
    });
    let before = || {
        tokens[start.saturating_sub(2)..start]
            .iter()
            .rev()
            .find_map(|token| match token {
                Token::Percent(value) => Some(*value),
                Token::Word(_) => None,
            })
    };
    after
        .or_else(before)
        .filter(|value| *value > 0.0 && *value <= 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn near(description: &str, name: &str) -> Option<f64> {
        beside(&tokens(description), name)
    }

    #[test]
    fn the_percentage_beside_the_name() {
        assert_eq!(
            near("Sodium hypophosphite 25%, buffers", "sodium hypophosphite"),
            Some(25.0)
        );
        assert_eq!(
            near(
                "Hydriodic acid 57% stabilised with 1.5% hypophosphorous acid",
                "hypophosphorous acid"
            ),
            Some(1.5)
        );
        assert_eq!(
            near(
                "Hydriodic acid 57% stabilised with 1.5% hypophosphorous acid",
                "hydriodic acid"
            ),
            Some(57.0)
        );
        assert_eq!(
            near(
                "Grape flavour with methyl anthranilate approx. 2%",
                "methyl anthranilate"
            ),
            Some(2.0)
        );
        assert_eq!(
            near("Acido cloridrico 37 %", "acido cloridrico"),
            Some(37.0)
        );
        assert_eq!(near("Iodine tincture 2,5 % w/v", "iodine"), Some(2.5));
    }

    #[test]
    fn no_percentage_or_one_far_away() {
        assert_eq!(near("Acetone 200 l drum", "acetone"), None);
        assert_eq!(
            near(
                "Toluene, technical grade for paints and coatings 99%",
                "toluene"
            ),
            None
        );
        assert_eq!(near("H3PO2 1.5%", "h3po2"), Some(1.5));
        assert_eq!(near("Acetone 250%", "acetone"), None);
    }
}
