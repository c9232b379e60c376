//! Placeholder until the page is written.

use leptos::prelude::*;

/// Placeholder.
#[component]
pub fn ResourcesPage() -> impl IntoView {
    view! { <p>"Coming soon"</p> }
}
