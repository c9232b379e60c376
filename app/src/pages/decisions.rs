//! The decision log: filters, the decision table and keyset pagination.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use leptos_router::params::ParamsMap;

use crate::api::decisions::list_decisions;
use crate::components::common::{Badge, Empty, Pager, failed, loading};
use crate::format;
use crate::model::{DecisionFilter, DecisionSummary};
use crate::pages::identities::urlencode;

/// Query keys the filter form sets, in the order the pager repeats them.
const FILTER_KEYS: [&str; 7] = [
    "from",
    "to",
    "principal",
    "resource",
    "outcome",
    "policy",
    "control",
];

/// Lists recorded decisions, newest first. The filter form is a plain GET form, so it works
/// without JavaScript.
#[component]
pub fn DecisionsPage() -> impl IntoView {
    let query = use_query_map();
    let filter = move || filter_from(&query.read());
    let cursor = move || query.read().get("cursor");
    let page = Resource::new(
        move || (filter(), cursor()),
        |(filter, cursor)| list_decisions(filter, cursor),
    );
    let base = move || base_url(&query.read());
    view! {
        <Title text="Decisions"/>
        <h1>"Decisions"</h1>
        <FilterForm filter=filter()/>
        <Suspense fallback=loading>
            {move || Suspend::new(async move {
                let page = match page.await {
                    Ok(page) => page,
                    Err(error) => return failed(error),
                };
                if page.items.is_empty() {
                    return view! { <Empty text="No decisions match."/> }.into_any();
                }
                view! {
                    <DecisionTable decisions=page.items/>
                    <Pager next=page.next base=base()/>
                }
                .into_any()
            })}
        </Suspense>
    }
}

/// Renders a green Allow or a red Deny label.
#[component]
pub(crate) fn AllowBadge(allow: bool) -> impl IntoView {
    if allow {
        view! { <Badge kind="allow" text="Allow"/> }
    } else {
        view! { <Badge kind="deny" text="Deny"/> }
    }
}

#[component]
fn FilterForm(filter: DecisionFilter) -> impl IntoView {
    let outcome = filter.outcome.clone();
    view! {
        <form method="get" action="/decisions" class="filters">
            <input type="text" name="from" value=filter.from aria-label="From"
                placeholder="From, such as 2026-01-31" title="A date or an RFC 3339 time"/>
            <input type="text" name="to" value=filter.to aria-label="To"
                placeholder="To, such as 2026-02-28" title="A date or an RFC 3339 time"/>
            <input type="text" name="principal" value=filter.principal placeholder="Principal"
                aria-label="Principal"/>
            <input type="text" name="resource" value=filter.resource placeholder="Resource"
                aria-label="Resource"/>
            <select name="outcome" aria-label="Outcome">
                <option value="">"Any outcome"</option>
                <option value="allow" selected=outcome == "allow">"Allow"</option>
                <option value="deny" selected=outcome == "deny">"Deny"</option>
            </select>
            <input type="text" name="policy" value=filter.policy placeholder="Policy id"
                aria-label="Policy id"/>
            <input type="text" name="control" value=filter.control placeholder="Control id"
                aria-label="Control id"/>
            <button type="submit">"Filter"</button>
            <a href="/decisions">"Clear"</a>
        </form>
    }
}

#[component]
fn DecisionTable(decisions: Vec<DecisionSummary>) -> impl IntoView {
    view! {
        <table class="list decisions">
            <thead>
                <tr>
                    <th>"Time"</th>
                    <th>"Client"</th>
                    <th>"Principal"</th>
                    <th>"Action"</th>
                    <th>"Resource"</th>
                    <th>"Outcome"</th>
                    <th>"Policies"</th>
                    <th>"Controls"</th>
                    <th class="number">"Latency (µs)"</th>
                </tr>
            </thead>
            <tbody>
                {decisions
                    .into_iter()
                    .map(|decision| {
                        let href = format!("/decisions/{}", decision.id);
                        view! {
                            <tr>
                                <td class="nowrap"><a href=href>{format::time(decision.decided_at)}</a></td>
                                <td>{decision.client}</td>
                                <td><code>{decision.principal}</code></td>
                                <td><code>{decision.action}</code></td>
                                <td><code>{decision.resource}</code></td>
                                <td><AllowBadge allow=decision.allow/></td>
                                <td><code>{ids(&decision.policies)}</code></td>
                                <td>{ids(&decision.controls)}</td>
                                <td class="number">{decision.latency_us}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

/// Joins ids with commas, or returns a dash for none.
pub(crate) fn ids(values: &[String]) -> String {
    if values.is_empty() {
        "—".to_owned()
    } else {
        values.join(", ")
    }
}

/// Reads the filter from the page's query string, trimming each value.
fn filter_from(query: &ParamsMap) -> DecisionFilter {
    let text = |key: &str| {
        query
            .get(key)
            .map(|value| value.trim().to_owned())
            .unwrap_or_default()
    };
    DecisionFilter {
        from: text("from"),
        to: text("to"),
        principal: text("principal"),
        resource: text("resource"),
        outcome: text("outcome"),
        policy: text("policy"),
        control: text("control"),
    }
}

/// Builds the current list URL without its cursor, for the pager.
fn base_url(query: &ParamsMap) -> String {
    let pairs: Vec<String> = FILTER_KEYS
        .iter()
        .filter_map(|key| {
            query
                .get(key)
                .filter(|value| !value.trim().is_empty())
                .map(|value| format!("{key}={}", urlencode(&value)))
        })
        .collect();
    if pairs.is_empty() {
        "/decisions".to_owned()
    } else {
        format!("/decisions?{}", pairs.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&'static str, &str)]) -> ParamsMap {
        let mut map = ParamsMap::new();
        for (key, value) in pairs {
            map.insert(*key, (*value).to_owned());
        }
        map
    }

    #[test]
    fn filter_trims_values() {
        let filter = filter_from(&query(&[
            ("from", " 2026-01-31 "),
            ("outcome", "deny"),
            ("principal", "Writ::User::\"ada\""),
        ]));
        assert_eq!(filter.from, "2026-01-31");
        assert_eq!(filter.outcome, "deny");
        assert_eq!(filter.principal, "Writ::User::\"ada\"");
        assert_eq!(filter.to, "");
    }

    #[test]
    fn pager_keeps_filters_and_drops_cursor() {
        let url = base_url(&query(&[
            ("control", "NHI7"),
            ("principal", "User::\"ada\""),
            ("outcome", ""),
            ("cursor", "abc"),
        ]));
        assert_eq!(url, "/decisions?principal=User%3A%3A%22ada%22&control=NHI7");
    }

    #[test]
    fn pager_without_filters_is_plain() {
        assert_eq!(base_url(&query(&[("cursor", "abc")])), "/decisions");
    }

    #[test]
    fn ids_show_a_dash_for_none() {
        assert_eq!(ids(&[]), "—");
        assert_eq!(ids(&["a".to_owned(), "b".to_owned()]), "a, b");
    }
}
