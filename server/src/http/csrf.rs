//! Cross-site request forgery protection for the cookie-authenticated console.
//!
//! Browsers mark every request with where it came from: `Sec-Fetch-Site` in current browsers,
//! and `Origin` on every cross-origin POST. A state-changing request whose markers show it came
//! from another site is rejected before it reaches a handler. Requests without either header
//! are not from a browser form or script on another site (browsers always send `Origin` on
//! cross-origin POSTs), so they pass; the session cookie is also `SameSite=Lax`.

use axum::extract::{Request, State};
use serde_json::json;

use super::AppState;
use crate::domain::actor::Actor;
use crate::domain::audit::{self, Entry};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Rejects state-changing requests that a browser marked as coming from another site, and
/// records each rejection in the audit log.
pub async fn reject_cross_site(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if is_safe(request.method()) || is_same_site(request.headers()) {
        return next.run(request).await;
    }
    let path = request.uri().path().to_owned();
    tracing::warn!(method = %request.method(), path, "rejected a cross-site request");
    let origin = request
        .headers()
        .get(header::ORIGIN)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let entry = Entry::refused(
        "http.cross_site_request",
        "path",
        &path,
        "a browser marked the request as coming from another site",
    )
    .details(json!({ "method": request.method().as_str(), "origin": origin }));
    let actor = Actor::signing_in(None, "unknown browser");
    audit::append_alone(&state.svc.pool, &actor, state.svc.now(), entry).await;
    (
        StatusCode::FORBIDDEN,
        "cross-site request rejected: submit the form from Writ's own pages",
    )
        .into_response()
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Returns whether the request's origin markers, where present, name this site.
pub fn is_same_site(headers: &HeaderMap) -> bool {
    if let Some(site) = headers
        .get("sec-fetch-site")
        .and_then(|value| value.to_str().ok())
    {
        return matches!(site, "same-origin" | "none");
    }
    let Some(origin) = headers
        .get(header::ORIGIN)
        .and_then(|value| value.to_str().ok())
    else {
        return true;
    };
    let Some(host) = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    // `Origin` is scheme://host[:port]; it must name the host the request was sent to.
    origin
        .split_once("://")
        .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn fetch_metadata_decides_when_present() {
        assert!(is_same_site(&headers(&[("sec-fetch-site", "same-origin")])));
        assert!(!is_same_site(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(!is_same_site(&headers(&[("sec-fetch-site", "same-site")])));
    }

    #[test]
    fn origin_must_match_host() {
        let same = headers(&[
            ("origin", "http://127.0.0.1:3000"),
            ("host", "127.0.0.1:3000"),
        ]);
        assert!(is_same_site(&same));
        let other = headers(&[
            ("origin", "https://evil.example"),
            ("host", "127.0.0.1:3000"),
        ]);
        assert!(!is_same_site(&other));
    }

    #[test]
    fn request_without_markers_passes() {
        assert!(is_same_site(&headers(&[])));
    }
}
