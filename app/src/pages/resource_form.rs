//! Placeholder until the page is written.

use leptos::prelude::*;

/// Placeholder.
#[component]
pub fn NewResourcePage() -> impl IntoView {
    view! { <p>"Coming soon"</p> }
}

/// Placeholder.
#[component]
pub fn EditResourcePage() -> impl IntoView {
    view! { <p>"Coming soon"</p> }
}
