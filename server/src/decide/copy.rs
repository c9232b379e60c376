//! Rows in the binary format of PostgreSQL's `COPY … FROM STDIN (FORMAT binary)`.
//!
//! The format is a fixed header, then for each row a field count and each field as a length and
//! the value in its type's binary form, then a trailer. The values are encoded by sqlx's own
//! `Encode` implementations, the ones it uses for query parameters, so this module only adds the
//! framing around them.

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::postgres::PgArgumentBuffer;
use sqlx::{Encode, Postgres};

/// The signature, flags and header extension length that open every binary copy.
const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
/// The field count that marks the end of the data.
const TRAILER: [u8; 2] = (-1i16).to_be_bytes();
/// The version byte that starts a `jsonb` value in binary form.
const JSONB_VERSION: u8 = 1;

/// A growing binary copy payload.
pub struct CopyRows {
    buffer: PgArgumentBuffer,
}

impl CopyRows {
    /// Starts a payload with room for about `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        let mut buffer = PgArgumentBuffer::default();
        buffer.reserve(capacity);
        buffer.extend_from_slice(HEADER);
        Self { buffer }
    }

    /// Starts a row of `fields` values, which must follow in column order.
    pub fn row(&mut self, fields: i16) {
        self.buffer.extend_from_slice(&fields.to_be_bytes());
    }

    /// Appends a value in the binary form sqlx sends for a parameter of its type.
    pub fn value<'q, T: Encode<'q, Postgres>>(&mut self, value: &T) -> Result<(), BoxDynError> {
        let start = self.open_field();
        match value.encode_by_ref(&mut self.buffer)? {
            IsNull::No => self.close_field(start),
            IsNull::Yes => {
                self.buffer.truncate(start);
                self.buffer.extend_from_slice(&(-1i32).to_be_bytes());
                Ok(())
            }
        }
    }

    /// Appends a `json` value whose text `write` produces.
    pub fn json(
        &mut self,
        write: impl FnOnce(&mut Vec<u8>) -> serde_json::Result<()>,
    ) -> Result<(), BoxDynError> {
        let start = self.open_field();
        write(&mut self.buffer)?;
        self.close_field(start)
    }

    /// Appends a `jsonb` value holding `value` serialised as JSON.
    pub fn jsonb<T: serde::Serialize + ?Sized>(&mut self, value: &T) -> Result<(), BoxDynError> {
        let start = self.open_field();
        self.buffer.push(JSONB_VERSION);
        serde_json::to_writer(&mut *self.buffer, value)?;
        self.close_field(start)
    }

    /// Ends the payload and returns its bytes.
    pub fn finish(mut self) -> Vec<u8> {
        self.buffer.extend_from_slice(&TRAILER);
        std::mem::take(&mut *self.buffer)
    }

    /// Reserves the length of a field and returns where it starts.
    fn open_field(&mut self) -> usize {
        let start = self.buffer.len();
        self.buffer.extend_from_slice(&[0; 4]);
        start
    }

    /// Writes the length of the field that starts at `start`.
    fn close_field(&mut self, start: usize) -> Result<(), BoxDynError> {
        let length = i32::try_from(self.buffer.len() - start - 4)?;
        self.buffer[start..start + 4].copy_from_slice(&length.to_be_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_fields_with_lengths_and_nulls() {
        let mut rows = CopyRows::with_capacity(64);
        rows.row(3);
        rows.value(&7i64).unwrap();
        rows.value(&None::<i64>).unwrap();
        rows.jsonb(&["a"]).unwrap();
        let bytes = rows.finish();

        let mut expected = HEADER.to_vec();
        expected.extend_from_slice(&3i16.to_be_bytes());
        expected.extend_from_slice(&8i32.to_be_bytes());
        expected.extend_from_slice(&7i64.to_be_bytes());
        expected.extend_from_slice(&(-1i32).to_be_bytes());
        expected.extend_from_slice(&6i32.to_be_bytes());
        expected.extend_from_slice(b"\x01[\"a\"]");
        expected.extend_from_slice(&(-1i16).to_be_bytes());
        assert_eq!(bytes, expected);
    }

    #[test]
    fn header_has_signature_and_zero_fields() {
        assert_eq!(HEADER.len(), 11 + 4 + 4);
        assert!(HEADER.starts_with(b"PGCOPY\n\xff\r\n\0"));
    }
}
