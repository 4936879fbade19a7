//! Flag types shared by the subcommands: the codec flags (`--casing`,
//! `--invalid`) and the one duration parser every duration flag uses.

use std::time::Duration;

use clap::ValueEnum;
use upcase::{Casing, Config, InvalidUtf8};

/// `--casing` and `--invalid`, the same in `serve`, `pipe`, `bench` and
/// `client`, flattened into each subcommand's flags.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct CodecArgs {
    /// Case mapping: full Unicode (ß → SS) or ASCII letters only.
    #[arg(long, value_enum, default_value_t = CasingArg::Unicode)]
    pub casing: CasingArg,

    /// Ill-formed UTF-8: pass the bytes through, replace each bad sequence
    /// with U+FFFD, or reject (stop after the valid prefix).
    #[arg(long, value_enum, default_value_t = InvalidArg::Pass)]
    pub invalid: InvalidArg,
}

impl CodecArgs {
    /// The codec configuration these flags ask for.
    pub fn config(self) -> Config {
        Config::new(self.casing.into(), self.invalid.into())
    }
}

/// `--casing` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CasingArg {
    /// Full Unicode uppercasing (ß → SS).
    Unicode,
    /// Only the letters a-z, like Python's bytes.upper().
    Ascii,
}

/// `--invalid` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InvalidArg {
    /// Pass ill-formed bytes through unchanged.
    Pass,
    /// Replace each ill-formed sequence with U+FFFD.
    Replace,
    /// Stop at the first ill-formed byte, after the valid prefix.
    Reject,
}

impl From<CasingArg> for Casing {
    fn from(arg: CasingArg) -> Self {
        match arg {
            CasingArg::Unicode => Casing::Unicode,
            CasingArg::Ascii => Casing::Ascii,
        }
    }
}

impl From<InvalidArg> for InvalidUtf8 {
    fn from(arg: InvalidArg) -> Self {
        match arg {
            InvalidArg::Pass => InvalidUtf8::PassThrough,
            InvalidArg::Replace => InvalidUtf8::Replace,
            InvalidArg::Reject => InvalidUtf8::Reject,
        }
    }
}

/// The shortest duration a flag takes besides 0: timers tick in
/// milliseconds, so anything shorter would silently become 0 ("off").
pub const MIN_DURATION: Duration = Duration::from_millis(1);

/// The longest duration a flag takes: a year is longer than any sensible
/// timeout, and far from the point where adding it to a clock overflows.
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// Parses a duration flag: plain seconds (`300`, `0.5`) or a human form
/// (`500ms`, `5m`, `1h 30m`). 0 is taken as is (flags document what 0
/// means); anything else must lie in [`MIN_DURATION`]..=[`MAX_DURATION`].
/// Clap prefixes the error with the flag's name.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let duration = match text.parse::<f64>() {
        Ok(secs) if secs.is_nan() => return Err("not a number".into()),
        Ok(secs) if secs < 0.0 => return Err("a duration cannot be negative".into()),
        Ok(secs) if secs > MAX_DURATION.as_secs_f64() => return Err(out_of_range()),
        Ok(secs) => Duration::from_secs_f64(secs),
        Err(_) if text.starts_with('-') => {
            return Err("a duration cannot be negative".into());
        }
        Err(_) => humantime::parse_duration(text).map_err(|err| {
            format!("{err}: expected seconds (300, 0.5) or a duration such as 500ms, 5m, 1h")
        })?,
    };
    if duration.is_zero() && text_is_zero(text) {
        return Ok(Duration::ZERO);
    }
    if !(MIN_DURATION..=MAX_DURATION).contains(&duration) {
        return Err(out_of_range());
    }
    Ok(duration)
}

/// Whether `text` spells zero itself (`0`, `0.0`, `0s`), as opposed to a
/// tiny value that rounds to it.
fn text_is_zero(text: &str) -> bool {
    text.trim_end_matches(|c: char| c.is_ascii_alphabetic())
        .trim()
        .chars()
        .all(|c| c == '0' || c == '.')
}

fn out_of_range() -> String {
    format!(
        "out of range: 0, or from {} ms to {} s (365 days)",
        MIN_DURATION.as_millis(),
        MAX_DURATION.as_secs()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_seconds_and_human_forms() {
        assert_eq!(parse_duration("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h 30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("0.000"), Ok(Duration::ZERO));
    }

    #[test]
    fn bounds_are_inclusive() {
        assert_eq!(parse_duration("1ms"), Ok(MIN_DURATION));
        assert_eq!(parse_duration("0.001"), Ok(MIN_DURATION));
        assert_eq!(parse_duration("31536000"), Ok(MAX_DURATION));
        assert_eq!(parse_duration("365days"), Ok(MAX_DURATION));
    }

    #[test]
    fn refuses_what_would_overflow_round_to_zero_or_go_negative() {
        for text in ["-1", "-0.5", "-5m"] {
            let err = parse_duration(text).unwrap_err();
            assert!(err.contains("negative"), "{text}: {err}");
        }
        for text in [
            "9.3e18", "1e-10", "0.0009", "999us", "31536001", "366days", "inf",
        ] {
            let err = parse_duration(text).unwrap_err();
            assert!(err.contains("out of range"), "{text}: {err}");
        }
        for text in ["soon", "", "NaN", "5 parsecs"] {
            assert!(parse_duration(text).is_err(), "{text}");
        }
    }
}
