//! Formatting of times and durations for display.

use chrono::{DateTime, Utc};

/// Formats a time with its zone, to the second.
pub fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// Formats an optional time, with a dash for none.
pub fn maybe_time(at: Option<DateTime<Utc>>) -> String {
    at.map(time).unwrap_or_else(|| "—".to_owned())
}

/// Formats a number of seconds as days, hours and minutes, such as `1d 2h` or `45m`.
pub fn duration_secs(seconds: i64) -> String {
    if seconds <= 0 {
        return "0m".to_owned();
    }
    let days = seconds / 86_400;
    let hours = seconds % 86_400 / 3_600;
    let minutes = seconds % 3_600 / 60;
    let rest = seconds % 60;
    let mut parts = Vec::new();
    if days > 0 {
        parts.push(format!("{days}d"));
    }
    if hours > 0 {
        parts.push(format!("{hours}h"));
    }
    if minutes > 0 {
        parts.push(format!("{minutes}m"));
    }
    if rest > 0 && days == 0 && hours == 0 {
        parts.push(format!("{rest}s"));
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration_secs(45 * 60), "45m");
        assert_eq!(duration_secs(26 * 3600 + 60), "1d 2h 1m");
        assert_eq!(duration_secs(90), "1m 30s");
        assert_eq!(duration_secs(0), "0m");
    }
}
