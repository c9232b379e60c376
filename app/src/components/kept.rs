//! Shows the latest result of an action, including one kept by the server for a page used
//! without JavaScript.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use serde::de::DeserializeOwned;

use crate::api::flash::take_kept_result;
use crate::error::AppError;

/// Renders `render(result)` for the last successful result of `action`. After a plain form post,
/// the server kept that result under `key`, and it is shown once here instead.
#[component]
pub fn LatestResult<S, F, V>(
    action: ServerAction<S>,
    #[prop(into)] key: String,
    render: F,
) -> impl IntoView
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + DeserializeOwned + 'static,
    F: Fn(S::Output) -> V + Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let kept = Resource::new(move || key.clone(), take_kept_result);
    view! {
        <Suspense fallback=|| ()>
            {move || {
                let render = render.clone();
                Suspend::new(async move {
                    let kept = kept
                        .await
                        .ok()
                        .flatten()
                        .and_then(|json| serde_json::from_str::<S::Output>(&json).ok());
                    let latest = match action.value().get() {
                        Some(Ok(value)) => Some(value),
                        _ => kept,
                    };
                    latest.map(render)
                })
            }}
        </Suspense>
    }
}
