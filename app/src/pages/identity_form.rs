//! Placeholder until the page is written.

use leptos::prelude::*;

/// Placeholder.
#[component]
pub fn NewIdentityPage() -> impl IntoView {
    view! { <p>"Coming soon"</p> }
}

/// Placeholder.
#[component]
pub fn EditIdentityPage() -> impl IntoView {
    view! { <p>"Coming soon"</p> }
}
