//! Opaque keyset-pagination cursors.

use app::error::AppError;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Datelike, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

/// Rows per page in console lists and the API.
pub const PAGE_SIZE: i64 = 50;

/// Encodes the sort key of the last row on a page as a cursor.
pub fn encode<T: Serialize>(key: &T) -> String {
    let json = serde_json::to_vec(key).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

/// Decodes a cursor produced by [`encode`]; a damaged cursor is the caller's error.
pub fn decode<T: DeserializeOwned>(cursor: Option<&str>) -> Result<Option<T>, AppError> {
    let Some(cursor) = cursor.filter(|cursor| !cursor.is_empty()) else {
        return Ok(None);
    };
    let invalid = || {
        AppError::invalid(
            "cursor",
            "is not a cursor this server issued; start again from the first page",
        )
    };
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    // PostgreSQL text cannot hold NUL, so a key containing one was never issued here.
    if bytes.windows(6).any(|window| window == b"\\u0000") {
        return Err(invalid());
    }
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|_| invalid())
}

/// Decodes a `(time, id)` cursor, rejecting times outside the years 1 to 9999 that PostgreSQL
/// and this server work with.
pub fn decode_time_key(
    cursor: Option<&str>,
) -> Result<(Option<DateTime<Utc>>, Option<Uuid>), AppError> {
    let key = decode::<(DateTime<Utc>, Uuid)>(cursor)?;
    if let Some((at, _)) = &key
        && !(1..=9999).contains(&at.year())
    {
        return Err(AppError::invalid(
            "cursor",
            "is not a cursor this server issued; start again from the first page",
        ));
    }
    Ok(key.unzip())
}

/// Splits `rows` (fetched with one extra row) into a page and its next cursor.
pub fn split<T, K: Serialize>(mut rows: Vec<T>, key: impl Fn(&T) -> K) -> app::model::Page<T> {
    let more = rows.len() as i64 > PAGE_SIZE;
    if more {
        rows.truncate(PAGE_SIZE as usize);
    }
    let next = if more {
        rows.last().map(|last| encode(&key(last)))
    } else {
        None
    };
    app::model::Page { items: rows, next }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips() {
        let key = ("alpha".to_owned(), 7_i64);
        let cursor = encode(&key);
        assert_eq!(decode::<(String, i64)>(Some(&cursor)), Ok(Some(key)));
    }

    #[test]
    fn cursor_with_nul_is_invalid() {
        let cursor = encode(&("a\0b".to_owned(), 1_i64));
        let error = decode::<(String, i64)>(Some(&cursor)).unwrap_err();
        assert_eq!(error.field(), Some("cursor"));
    }

    #[test]
    fn time_cursor_out_of_range_is_invalid() {
        let far = DateTime::<Utc>::from_timestamp(300_000_000_000, 0).unwrap();
        let cursor = encode(&(far, Uuid::nil()));
        let error = decode_time_key(Some(&cursor)).unwrap_err();
        assert_eq!(error.field(), Some("cursor"));
    }

    #[test]
    fn damaged_cursor_is_invalid() {
        let error = decode::<(String, i64)>(Some("not*base64")).unwrap_err();
        assert_eq!(error.field(), Some("cursor"));
    }

    #[test]
    fn split_sets_cursor_only_when_more() {
        let rows: Vec<i64> = (0..=PAGE_SIZE).collect();
        let page = split(rows, |row| *row);
        assert_eq!(page.items.len() as i64, PAGE_SIZE);
        assert_eq!(page.next, Some(encode(&(PAGE_SIZE - 1))));
        let short = split(vec![1_i64, 2], |row| *row);
        assert_eq!(short.next, None);
    }
}
