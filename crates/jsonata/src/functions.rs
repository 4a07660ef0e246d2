//! The functions Step Functions adds to JSONata, and the one it takes away.
//!
//! Semantics follow the AWS Step Functions developer guide ("Transforming data with JSONata in
//! Step Functions"); where the guide is silent, the choice made here is written on the function
//! and errs on the loud side (an error rather than a guess).
//!
//! | function | result |
//! |---|---|
//! | `$partition(array, size)` | `array` cut into chunks of `size` items, the last one shorter |
//! | `$range(start, end, step)` | the integers from `start` to `end` inclusive, `step` apart |
//! | `$hash(text, algorithm)` | lower-case hex digest; `MD5`, `SHA-1`, `SHA-256`, `SHA-384`, `SHA-512` |
//! | `$random([seed])` | a number in `[0, 1)`; the same seed always gives the same number |
//! | `$uuid()` | a random version 4 UUID |
//! | `$parse(text)` | the JSON value `text` holds |
//!
//! `$eval` is refused: Step Functions does not offer it (`$parse` replaces it).

use jsonata_core::evaluator::{Evaluator, EvaluatorError};
use jsonata_core::value::JValue;
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::value::to_jvalue;

/// Most items `$range` builds, so that a typo cannot exhaust memory.
pub const MAX_RANGE_ITEMS: usize = 1_000_000;

/// Registers on `evaluator` those Step Functions functions whose names are in `mentioned`
/// (sorted), so that an expression calling none of them pays nothing.
pub(crate) fn register(
    evaluator: &mut Evaluator,
    mentioned: &[String],
) -> Result<(), EvaluatorError> {
    let wanted = |name: &str| mentioned.binary_search_by(|m| m.as_str().cmp(name)).is_ok();
    for (name, function) in [
        (
            "partition",
            partition as fn(&[JValue]) -> Result<JValue, EvaluatorError>,
        ),
        ("range", range),
        ("hash", hash),
        ("uuid", uuid),
        ("parse", parse),
    ] {
        if wanted(name) {
            evaluator.register_fn(name, function)?;
        }
    }
    if wanted("random") {
        evaluator.register_fn_override("random", random)?;
    }
    if wanted("eval") {
        evaluator.register_fn_override("eval", |_: &[JValue]| {
            Err(fail(
                "T1006",
                "$eval is not supported by Step Functions; use $parse",
            ))
        })?;
    }
    Ok(())
}

fn fail(code: &str, message: &str) -> EvaluatorError {
    EvaluatorError::EvaluationError(format!("{code}: {message}"))
}

/// Argument `index` (from 0), or undefined when it was not given.
fn arg(args: &[JValue], index: usize) -> &JValue {
    args.get(index).unwrap_or(&JValue::Undefined)
}

fn check_arity(name: &str, args: &[JValue], min: usize, max: usize) -> Result<(), EvaluatorError> {
    if args.len() < min || args.len() > max {
        let expected = if min == max {
            format!("{min}")
        } else {
            format!("{min} to {max}")
        };
        return Err(fail(
            "T0410",
            &format!("${name} takes {expected} arguments, not {}", args.len()),
        ));
    }
    Ok(())
}

/// An integer argument; a whole number is required.
fn integer(name: &str, what: &str, value: &JValue) -> Result<i64, EvaluatorError> {
    match value {
        JValue::Number(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => {
            #[allow(clippy::cast_possible_truncation)] // whole and well inside i64
            Ok(*n as i64)
        }
        _ => Err(fail(
            "T0410",
            &format!("${name}: {what} must be an integer"),
        )),
    }
}

/// `$partition(array, size)`: chunks of `size` items; a single value counts as a one-item array.
///
/// The size must be a whole number of at least 1. An empty array gives an empty array.
fn partition(args: &[JValue]) -> Result<JValue, EvaluatorError> {
    check_arity("partition", args, 2, 2)?;
    let items: Vec<JValue> = match arg(args, 0) {
        JValue::Undefined => return Ok(JValue::Undefined),
        JValue::Array(items) => items.iter().cloned().collect(),
        single => vec![single.clone()],
    };
    let size = integer("partition", "the chunk size", arg(args, 1))?;
    let size = usize::try_from(size)
        .ok()
        .filter(|s| *s > 0)
        .ok_or_else(|| fail("D3137", "$partition: the chunk size must be at least 1"))?;
    let chunks = items
        .chunks(size)
        .map(|chunk| JValue::array(chunk.to_vec()))
        .collect();
    Ok(JValue::array(chunks))
}

/// `$range(start, end, step)`: the integers from `start` to `end` inclusive, `step` apart.
///
/// All three are whole numbers; `step` may be negative but not zero. A step that leads away from
/// `end` gives an empty array. At most [`MAX_RANGE_ITEMS`] items.
fn range(args: &[JValue]) -> Result<JValue, EvaluatorError> {
    check_arity("range", args, 3, 3)?;
    if args.iter().any(JValue::is_undefined) {
        return Ok(JValue::Undefined);
    }
    let start = integer("range", "the start", arg(args, 0))?;
    let end = integer("range", "the end", arg(args, 1))?;
    let step = integer("range", "the step", arg(args, 2))?;
    if step == 0 {
        return Err(fail("D3137", "$range: the step must not be zero"));
    }
    let span = end - start;
    let count = if span == 0 || (span > 0) == (step > 0) {
        span / step + 1
    } else {
        0
    };
    if usize::try_from(count).is_ok_and(|c| c > MAX_RANGE_ITEMS) {
        return Err(fail(
            "D3137",
            &format!("$range: more than {MAX_RANGE_ITEMS} items"),
        ));
    }
    #[allow(clippy::cast_precision_loss)] // |values| < 9e15, exact in f64
    let items = (0..count)
        .map(|i| JValue::Number((start + i * step) as f64))
        .collect();
    Ok(JValue::array(items))
}

/// `$hash(text, algorithm)`: the lower-case hex digest of the UTF-8 bytes of `text`.
///
/// The algorithm name is matched exactly: `MD5`, `SHA-1`, `SHA-256`, `SHA-384` or `SHA-512`.
fn hash(args: &[JValue]) -> Result<JValue, EvaluatorError> {
    check_arity("hash", args, 2, 2)?;
    let text = match arg(args, 0) {
        JValue::Undefined => return Ok(JValue::Undefined),
        JValue::String(s) => s,
        _ => return Err(fail("T0410", "$hash: the value to hash must be a string")),
    };
    let Some(algorithm) = arg(args, 1).as_str() else {
        return Err(fail("T0410", "$hash: the algorithm must be a string"));
    };
    let bytes = text.as_bytes();
    let digest = match algorithm {
        "MD5" => hex(&Md5::digest(bytes)),
        "SHA-1" => hex(&Sha1::digest(bytes)),
        "SHA-256" => hex(&Sha256::digest(bytes)),
        "SHA-384" => hex(&Sha384::digest(bytes)),
        "SHA-512" => hex(&Sha512::digest(bytes)),
        other => {
            return Err(fail(
                "D3137",
                &format!(
                    "$hash: unsupported algorithm {other:?}; use MD5, SHA-1, SHA-256, SHA-384 or SHA-512"
                ),
            ));
        }
    };
    Ok(JValue::string(digest))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
}

/// `$random([seed])`: a number in `[0, 1)`.
///
/// Without a seed the number is random. With a numeric seed it is a pure function of the seed
/// (SplitMix64 over the seed's bits), so a run can be replayed; it is not the number AWS would
/// give for that seed, which AWS does not document.
fn random(args: &[JValue]) -> Result<JValue, EvaluatorError> {
    check_arity("random", args, 0, 1)?;
    let bits = match arg(args, 0) {
        JValue::Undefined => rand::random::<u64>(),
        // -0.0 and 0.0 are the same seed.
        JValue::Number(seed) => splitmix64((seed + 0.0).to_bits()),
        _ => return Err(fail("T0410", "$random: the seed must be a number")),
    };
    // The top 53 bits, scaled into [0, 1).
    #[allow(clippy::cast_precision_loss)] // < 2^53, exact
    Ok(JValue::Number((bits >> 11) as f64 / (1u64 << 53) as f64))
}

/// One step of SplitMix64 (Steele, Lea and Flood, 2014): a well-mixed 64-bit function of `x`.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// `$uuid()`: a random version 4 UUID in its hyphenated lower-case form.
fn uuid(args: &[JValue]) -> Result<JValue, EvaluatorError> {
    check_arity("uuid", args, 0, 0)?;
    let id = uuid::Builder::from_random_bytes(rand::random()).into_uuid();
    Ok(JValue::string(id.hyphenated().to_string()))
}

/// `$parse(text)`: the JSON value `text` holds; invalid JSON is an error.
fn parse(args: &[JValue]) -> Result<JValue, EvaluatorError> {
    check_arity("parse", args, 1, 1)?;
    match arg(args, 0) {
        JValue::Undefined => Ok(JValue::Undefined),
        JValue::String(text) => serde_json::from_str::<serde_json::Value>(text)
            .map(|value| to_jvalue(&value))
            .map_err(|e| fail("D3137", &format!("$parse: invalid JSON: {e}"))),
        _ => Err(fail("T0410", "$parse: the argument must be a string")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::{Bindings, Error, Expression};

    fn eval(src: &str) -> Result<Option<Value>, Error> {
        let bindings =
            Bindings::with_states(json!({"input": {"items": [1, 2, 3, 4, 5], "seed": 7}}));
        Expression::parse(src)?.evaluate_without_input(&bindings)
    }

    fn ok(src: &str) -> Value {
        match eval(src) {
            Ok(Some(value)) => value,
            other => panic!("{src}: {other:?}"),
        }
    }

    fn code(src: &str) -> Option<String> {
        match eval(src) {
            Err(e) => {
                assert!(e.is_query_evaluation_error(), "{src}: {e}");
                e.code().map(str::to_owned)
            }
            other => panic!("{src}: expected an error, got {other:?}"),
        }
    }

    #[test]
    fn partition_cuts_arrays_into_chunks() {
        assert_eq!(
            ok("$partition([1,2,3,4,5,6,7,8,9], 3)"),
            json!([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
        );
        assert_eq!(
            ok("$partition($states.input.items, 2)"),
            json!([[1, 2], [3, 4], [5]])
        );
        assert_eq!(
            ok("$partition($states.input.items, 10)"),
            json!([[1, 2, 3, 4, 5]])
        );
        assert_eq!(ok("$partition([], 2)"), json!([]));
        assert_eq!(ok("$partition('a', 2)"), json!([["a"]]));
        assert_eq!(eval("$partition($states.input.none, 2)"), Ok(None));
        assert_eq!(code("$partition([1], 0)").as_deref(), Some("D3137"));
        assert_eq!(code("$partition([1], 1.5)").as_deref(), Some("T0410"));
        assert_eq!(code("$partition([1])").as_deref(), Some("T0410"));
    }

    #[test]
    fn range_counts_inclusively_in_steps() {
        assert_eq!(ok("$range(0, 10, 2)"), json!([0, 2, 4, 6, 8, 10]));
        assert_eq!(ok("$range(10, 0, -3)"), json!([10, 7, 4, 1]));
        assert_eq!(ok("$range(1, 3, 1)"), json!([1, 2, 3]));
        assert_eq!(ok("$range(3, 3, 1)"), json!([3]));
        assert_eq!(ok("$range(5, 1, 1)"), json!([]));
        assert_eq!(code("$range(1, 5, 0)").as_deref(), Some("D3137"));
        assert_eq!(code("$range(0.5, 5, 1)").as_deref(), Some("T0410"));
        assert_eq!(code("$range(0, 5)").as_deref(), Some("T0410"));
        assert_eq!(code("$range(0, 100000000, 1)").as_deref(), Some("D3137"));
    }

    #[test]
    fn hash_gives_hex_digests() {
        for (algorithm, digest) in [
            ("MD5", "5d41402abc4b2a76b9719d911017c592"),
            ("SHA-1", "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d"),
            (
                "SHA-256",
                "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
            ),
        ] {
            assert_eq!(ok(&format!("$hash('hello', '{algorithm}')")), json!(digest));
        }
        assert_eq!(ok("$length($hash('hello', 'SHA-384'))"), json!(96));
        assert_eq!(ok("$length($hash('hello', 'SHA-512'))"), json!(128));
        assert_eq!(code("$hash('hello', 'sha-256')").as_deref(), Some("D3137"));
        assert_eq!(code("$hash(42, 'MD5')").as_deref(), Some("T0410"));
        assert_eq!(eval("$hash($states.input.none, 'MD5')"), Ok(None));
    }

    #[test]
    fn random_is_a_fraction_and_repeatable_with_a_seed() {
        for _ in 0..100 {
            let n = ok("$random()").as_f64().expect("a number");
            assert!((0.0..1.0).contains(&n), "{n}");
        }
        let seeded = ok("$random($states.input.seed)");
        assert_eq!(ok("$random(7)"), seeded);
        assert_ne!(ok("$random(8)"), seeded);
        assert!((0.0..1.0).contains(&seeded.as_f64().expect("a number")));
        assert_eq!(code("$random('x')").as_deref(), Some("T0410"));
    }

    #[test]
    fn uuid_is_a_fresh_version_4_uuid() {
        let a = ok("$uuid()");
        let text = a.as_str().expect("a string");
        let parsed = uuid::Uuid::parse_str(text).expect("a UUID");
        assert_eq!(parsed.get_version_num(), 4);
        assert_eq!(text, text.to_lowercase());
        assert_ne!(ok("$uuid()"), a);
    }

    #[test]
    fn parse_reads_json_text() {
        assert_eq!(
            ok(r#"$parse('{"a": [1, 2.5, null]}')"#),
            json!({"a": [1, 2.5, null]})
        );
        assert_eq!(ok(r#"$parse('{"a": {"b": 3}}').a.b"#), json!(3));
        assert_eq!(ok("$parse('null')"), Value::Null);
        assert_eq!(ok("$parse('\"s\"')"), json!("s"));
        assert_eq!(code("$parse('not json')").as_deref(), Some("D3137"));
        assert_eq!(code("$parse(1)").as_deref(), Some("T0410"));
        assert_eq!(eval("$parse($states.input.none)"), Ok(None));
    }

    #[test]
    fn standard_library_is_still_there() {
        assert_eq!(ok("$sum($states.input.items)"), json!(15));
        assert_eq!(ok("$string($count($states.input.items))"), json!("5"));
        assert_eq!(ok("$merge([{'a': 1}, {'b': 2}])"), json!({"a": 1, "b": 2}));
    }
}
