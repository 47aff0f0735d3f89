//! FHIR searches as the kit sees them: every page followed (bounded), ids collected, paging
//! links and totals kept for the checks that judge them.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::ctx::{Ctx, Stop, Token, fail};

/// Most pages followed.
const MAX_PAGES: usize = 200;

/// What a search returned over all its pages.
#[derive(Debug, Clone, Default)]
pub struct SearchSet {
    /// Ids of the matches (`search.mode` match or absent) of the searched type.
    pub ids: BTreeSet<String>,
    /// The matches themselves, by id (checks that judge their content).
    pub resources: BTreeMap<String, Value>,
    /// `Type/id` of included resources (`search.mode: include`).
    pub included: BTreeSet<String>,
    /// Matches whose type differs from the searched one.
    pub foreign: BTreeSet<String>,
    /// `Bundle.total` of the first page.
    pub total: Option<u64>,
    /// Every `next` link followed.
    pub next_links: Vec<String>,
    /// Pages read.
    pub pages: usize,
}

/// The outcome of a search: the set, or the status the target refused it with.
#[derive(Debug, Clone)]
pub enum Searched {
    /// 200 on every page.
    Found(SearchSet),
    /// A 4xx on the first page (the search was refused).
    Refused(u16),
}

/// `GET [base]/{type}?{query}` and every `next` page.
pub async fn search(c: &Ctx, token: &Token, ty: &str, query: &str) -> Result<Searched, Stop> {
    let mut url = if query.is_empty() {
        format!("{}/{ty}", c.base())
    } else {
        format!("{}/{ty}?{query}", c.base())
    };
    let mut set = SearchSet::default();
    loop {
        let ex = c.fhir(&url, token).await;
        crate::expect::transport(&ex)?;
        if set.pages == 0 && (400..500).contains(&ex.code()) {
            return Ok(Searched::Refused(ex.code()));
        }
        if ex.code() != 200 {
            return fail(format!("{}: expected 200", ex.summary()));
        }
        let Some(bundle) = ex.json() else {
            return fail(format!("{}: the body is not JSON", ex.summary()));
        };
        if bundle.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
            return fail(format!("{}: not a Bundle", ex.summary()));
        }
        if set.pages == 0 {
            set.total = bundle.get("total").and_then(Value::as_u64);
        }
        set.pages += 1;
        for e in bundle
            .get("entry")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let r = &e["resource"];
            let (Some(rt), Some(id)) = (
                r.get("resourceType").and_then(Value::as_str),
                r.get("id").and_then(Value::as_str),
            ) else {
                return fail(format!(
                    "{}: an entry without resourceType and id",
                    ex.summary()
                ));
            };
            if e.pointer("/search/mode").and_then(Value::as_str) == Some("include") {
                set.included.insert(format!("{rt}/{id}"));
            } else if rt == ty {
                set.ids.insert(id.to_owned());
                set.resources.insert(id.to_owned(), r.clone());
            } else if rt != "OperationOutcome" {
                set.foreign.insert(format!("{rt}/{id}"));
            }
        }
        let next = bundle
            .get("link")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|l| l.get("relation").and_then(Value::as_str) == Some("next"))
            .and_then(|l| l.get("url").and_then(Value::as_str))
            .map(str::to_owned);
        match next {
            Some(n) if set.pages < MAX_PAGES => {
                set.next_links.push(n.clone());
                // Follow only links on the target's base: anything else is judged by the
                // paging check, never fetched with the token.
                if !n.starts_with(&format!("{}/", c.base())) {
                    break;
                }
                url = n;
            }
            Some(_) => return fail(format!("more than {MAX_PAGES} pages")),
            None => break,
        }
    }
    Ok(Searched::Found(set))
}

/// A search that must succeed.
pub async fn search_ok(c: &Ctx, token: &Token, ty: &str, query: &str) -> Result<SearchSet, Stop> {
    match search(c, token, ty, query).await? {
        Searched::Found(s) => Ok(s),
        Searched::Refused(code) => fail(format!("GET {ty}?{query} was refused with {code}")),
    }
}
