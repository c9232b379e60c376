//! Small building blocks: error boxes, badges, pagers and empty states.

use leptos::prelude::*;

use crate::error::AppError;

/// Shows an error with the field it names.
#[component]
pub fn ErrorBox(error: AppError) -> impl IntoView {
    let text = match &error {
        AppError::Invalid { field, message } => format!("{}: {message}", field.replace('_', " ")),
        other => other.to_string(),
    };
    view! { <p class="error" role="alert">{text}</p> }
}

/// Shows the error of a server action's last result, if it failed.
#[component]
pub fn ActionError<T, V>(value: V) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
    V: Get<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
{
    move || match value.get() {
        Some(Err(error)) => Some(view! { <ErrorBox error/> }),
        _ => None,
    }
}

/// Shows a loaded result's error in place of the page body, and gives the page the error's
/// status code when it is rendered on the server.
pub fn failed(error: AppError) -> AnyView {
    // A signed-out page already carries its redirect to the sign-in page.
    #[cfg(feature = "ssr")]
    if error != AppError::Unauthenticated
        && let Some(response) = use_context::<leptos_axum::ResponseOptions>()
        && let Ok(status) = http::StatusCode::from_u16(error.status_code())
    {
        response.set_status(status);
    }
    match error {
        AppError::Unauthenticated => view! {
            <p class="notice">"You are signed out. " <a href="/sign-in">"Sign in"</a> " to continue."</p>
        }
        .into_any(),
        error => view! { <ErrorBox error/> }.into_any(),
    }
}

/// A coloured label for a state or level.
#[component]
pub fn Badge(#[prop(into)] kind: String, #[prop(into)] text: String) -> impl IntoView {
    view! { <span class=format!("badge badge-{kind}")>{text}</span> }
}

/// A link to the next page of a list, kept with the current query.
#[component]
pub fn Pager(next: Option<String>, #[prop(into)] base: String) -> impl IntoView {
    next.map(|cursor| {
        let separator = if base.contains('?') { '&' } else { '?' };
        let href = format!("{base}{separator}cursor={cursor}");
        view! { <p class="pager"><a href=href>"Next page →"</a></p> }
    })
}

/// The message shown for an empty list.
#[component]
pub fn Empty(#[prop(into)] text: String) -> impl IntoView {
    view! { <p class="empty">{text}</p> }
}

/// Loading placeholder for `Suspense`.
pub fn loading() -> impl IntoView {
    view! { <p class="loading">"Loading…"</p> }
}

/// Escapes the initial text of a `<textarea>` when rendering on the server.
///
/// Leptos 0.8 (tachys 0.2.19) writes a textarea's children into server-rendered HTML without
/// escaping them, so a stored `</textarea>` would end the element early. The browser decodes
/// entities inside a textarea, so escaped text shows as typed. A client-side render builds a text
/// node instead, which must not be escaped.
pub fn textarea_text(text: &str) -> String {
    if cfg!(feature = "ssr") {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    } else {
        text.to_owned()
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;

    #[test]
    fn textarea_text_cannot_close_the_element() {
        let html =
            view! { <textarea>{textarea_text("</textarea><b>x</b> & y")}</textarea> }.to_html();
        assert_eq!(
            html,
            "<textarea>&lt;/textarea&gt;&lt;b&gt;x&lt;/b&gt; &amp; y</textarea>"
        );
    }
}
