//! The new-request form.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::access::{CreateRequest, requestable_resources, subject_choices};
use crate::components::common::{ActionError, Empty, failed, loading};
use crate::format;

/// Asks for time-boxed access to a resource.
#[component]
pub fn NewRequestPage() -> impl IntoView {
    let query = use_query_map();
    let chosen = move || query.read().get("resource").unwrap_or_default();
    let create = ServerAction::<CreateRequest>::new();
    let data = Resource::new(
        || (),
        |_| async move {
            Ok::<_, crate::error::AppError>((
                requestable_resources().await?,
                subject_choices().await?,
            ))
        },
    );
    view! {
        <Title text="New request"/>
        <h1>"Request access"</h1>
        <ActionError value=create.value()/>
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                let (resources, subjects) = match data.await {
                    Ok(data) => data,
                    Err(error) => return failed(error),
                };
                if resources.is_empty() {
                    return view! { <Empty text="There is no resource you may request. Ask an admin to add you to one."/> }.into_any();
                }
                let chosen = chosen();
                view! {
                    <ActionForm action=create attr:class="form">
                        <label>
                            "Resource"
                            <select name="input[resource_id]" required>
                                {resources.into_iter().map(|resource| {
                                    let label = format!(
                                        "{} — {} on {} ({}; at most {})",
                                        resource.name,
                                        resource.role,
                                        resource.target,
                                        resource.sensitivity.label(),
                                        format::duration_secs(i64::from(resource.max_duration_secs)),
                                    );
                                    let id = resource.id.to_string();
                                    let selected = id == chosen;
                                    view! { <option value=id selected=selected>{label}</option> }
                                }).collect_view()}
                            </select>
                        </label>
                        <label>
                            "For"
                            <select name="input[subject_id]">
                                {subjects.into_iter().map(|subject| view! {
                                    <option value=subject.value>{subject.label}</option>
                                }).collect_view()}
                            </select>
                        </label>
                        <label>
                            "Duration"
                            <input type="text" name="input[duration]" value="1h" required
                                placeholder="such as 30m, 2h or 1h30m"/>
                            <small>"Counted from approval, or from the scheduled start if later."</small>
                        </label>
                        <label>
                            "Reason"
                            <textarea name="input[reason]" required rows="3" maxlength="2000"></textarea>
                        </label>
                        <label>
                            "Ticket"
                            <input type="text" name="input[ticket]" placeholder="such as OPS-1234" maxlength="200"/>
                        </label>
                        <label>
                            "Scheduled start (UTC, optional)"
                            <input type="datetime-local" name="input[scheduled_start]"/>
                        </label>
                        <button type="submit">"Submit request"</button>
                    </ActionForm>
                }
                .into_any()
            })}
        </Suspense>
    }
}
