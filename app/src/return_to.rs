//! The page to open after signing in: accepted only when it is a path on this site.

/// Longest accepted return path, in bytes.
pub const MAX_RETURN_TO: usize = 2048;

/// Returns `candidate` when it is a path on this site (such as `/requests?page=2`), and `None`
/// for anything a browser could resolve to another site or scheme: absolute and
/// scheme-relative URLs (`//host`, `/\host`), backslashes, control characters, and overlong
/// values. Sign-in paths are rejected as well, so a sign-in never leads back to itself.
pub fn safe_return_to(candidate: &str) -> Option<String> {
    let valid = candidate.starts_with('/')
        && !candidate.starts_with("//")
        && candidate.len() <= MAX_RETURN_TO
        && !candidate.contains('\\')
        && !candidate
            .chars()
            .any(|c| c.is_control() || c.is_whitespace())
        && !candidate.starts_with("/sign-in")
        && !candidate.starts_with("/api/");
    valid.then(|| candidate.to_owned())
}

/// Returns the sign-in path that comes back to `path` afterwards, or the plain sign-in path
/// when `path` is not a safe return path.
pub fn sign_in_path(base: &str, path: &str) -> String {
    match safe_return_to(path) {
        Some(path) if path != "/" => {
            let mut encoded = String::with_capacity(path.len());
            for byte in path.bytes() {
                if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
                    encoded.push(byte as char);
                } else {
                    encoded.push_str(&format!("%{byte:02X}"));
                }
            }
            format!("{base}?return_to={encoded}")
        }
        _ => base.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_site_paths_pass() {
        for path in ["/", "/requests", "/requests/new?resource=1&x=%2F", "/a/b#c"] {
            assert_eq!(safe_return_to(path).as_deref(), Some(path), "{path}");
        }
    }

    #[test]
    fn off_site_and_odd_values_fail() {
        let long = format!("/{}", "a".repeat(MAX_RETURN_TO));
        for value in [
            "",
            "requests",
            "https://evil.example/",
            "//evil.example/path",
            "/\\evil.example",
            "/ok\\..\\",
            "/\t/evil.example",
            "/a b",
            "javascript:alert(1)",
            "/sign-in",
            "/sign-in/oidc?return_to=/",
            "/api/sign_out",
            long.as_str(),
        ] {
            assert_eq!(safe_return_to(value), None, "{value:?}");
        }
    }

    #[test]
    fn sign_in_path_encodes_the_return_path() {
        assert_eq!(sign_in_path("/sign-in", "/"), "/sign-in");
        assert_eq!(sign_in_path("/sign-in", "//evil"), "/sign-in");
        assert_eq!(
            sign_in_path("/sign-in/oidc", "/requests?page=2&x=y"),
            "/sign-in/oidc?return_to=/requests%3Fpage%3D2%26x%3Dy"
        );
    }
}
