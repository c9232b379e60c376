//! Placeholder until the page is written.

use leptos::prelude::*;

/// Placeholder.
#[component]
pub fn ImportPage() -> impl IntoView {
    view! { <p>"Coming soon"</p> }
}
